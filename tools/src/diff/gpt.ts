import { z } from 'zod';
import { UserError } from '../errors.ts';
import { notJson } from '../messages.ts';
import type { Extent } from '../lib/sparse-map.ts';
import type { DiffContext } from './context.ts';
import { subRegion, type Region } from './region.ts';

/**
 * GPT disks, read by `sfdisk --json` (util-linux): table fields, then each partition by number
 * (name, type, uuid, start, size, attributes), then each partition's contents under its name,
 * then the unpartitioned space as bytes.
 */

const tableSchema = z.object({
  partitiontable: z.object({
    label: z.string(),
    id: z.string().optional(),
    device: z.string(),
    firstlba: z.number().optional(),
    lastlba: z.number().optional(),
    sectorsize: z.number().optional(),
    partitions: z
      .array(
        z.object({
          node: z.string(),
          start: z.number(),
          size: z.number(),
          type: z.string(),
          uuid: z.string().optional(),
          name: z.string().optional(),
          attrs: z.string().optional(),
        }),
      )
      .default([]),
  }),
});

interface Partition {
  number: number;
  start: number;
  size: number;
  type: string;
  uuid?: string;
  name?: string;
  attrs?: string;
}

interface Table {
  id?: string;
  firstLba: number;
  lastLba: number;
  sectorSize: number;
  partitions: Map<number, Partition>;
}

async function readTable(context: DiffContext, region: Region): Promise<Table | undefined> {
  // sfdisk reads whole files only: a GPT inside a partition or LV is compared as bytes.
  if (region.offset !== 0) return undefined;
  const { stdout } = await context.runner.run('sfdisk', ['--json', region.file], { artifact: `diff(${region.file})` });
  let parsed;
  try {
    parsed = tableSchema.parse(JSON.parse(stdout));
  } catch (error) {
    throw new UserError(`diff(${region.file}): sfdisk --json: ${error instanceof SyntaxError ? notJson(error) : 'unexpected output'}`);
  }
  const table = parsed.partitiontable;
  const sectorSize = table.sectorsize ?? 512;
  const partitions = new Map<number, Partition>();
  for (const entry of table.partitions) {
    const number = Number(/(\d+)$/.exec(entry.node.slice(table.device.length))?.[1] ?? partitions.size + 1);
    partitions.set(number, { number, start: entry.start, size: entry.size, type: entry.type, uuid: entry.uuid, name: entry.name, attrs: entry.attrs });
  }
  return { id: table.id, firstLba: table.firstlba ?? 34, lastLba: table.lastlba ?? Math.floor(region.size / sectorSize) - 34, sectorSize, partitions };
}

function quotedName(name: string | undefined): string | undefined {
  return name === undefined ? undefined : JSON.stringify(name);
}

export async function compareGpt(context: DiffContext, place: string[], a: Region, b: Region): Promise<void> {
  const { report } = context;
  const [tableA, tableB] = [await readTable(context, a), await readTable(context, b)];
  if (tableA === undefined || tableB === undefined) return;
  report.field(place, 'GPT disk id', tableA.id, tableB.id);
  report.field(place, 'GPT first usable sector', tableA.firstLba, tableB.firstLba);
  report.field(place, 'GPT last usable sector', tableA.lastLba, tableB.lastLba);
  report.field(place, 'GPT sector size', tableA.sectorSize, tableB.sectorSize);
  const numbers = [...new Set([...tableA.partitions.keys(), ...tableB.partitions.keys()])].sort((x, y) => x - y);
  const both: Array<[Partition, Partition]> = [];
  for (const number of numbers) {
    const [partA, partB] = [tableA.partitions.get(number), tableB.partitions.get(number)];
    const what = `GPT partition ${number}`;
    if (partA === undefined || partB === undefined) {
      report.add({ place, what: `${what} ${quotedName((partA ?? partB)!.name) ?? ''}: only in ${partA === undefined ? 'B' : 'A'}` });
      continue;
    }
    report.field(place, `${what} name`, quotedName(partA.name), quotedName(partB.name));
    report.field(place, `${what} type`, partA.type, partB.type);
    report.field(place, `${what} uuid`, partA.uuid, partB.uuid);
    report.field(place, `${what} start`, partA.start, partB.start);
    report.field(place, `${what} size`, partA.size, partB.size);
    report.field(place, `${what} attributes`, partA.attrs, partB.attrs);
    both.push([partA, partB]);
  }
  for (const [partA, partB] of both) {
    if (report.stopHere()) break;
    const label = partA.name !== undefined && partA.name !== '' && partA.name === partB.name ? partA.name : `partition ${partA.number}`;
    const regionA = subRegion(a, partA.start * tableA.sectorSize, partA.size * tableA.sectorSize);
    const regionB = subRegion(b, partB.start * tableB.sectorSize, partB.size * tableB.sectorSize);
    await context.compareRegion([...place, label], regionA, regionB);
  }
  // Between and after the partitions (inside the usable area): only when both disks are laid out alike.
  const layout = (table: Table) => [...table.partitions.values()].map((p) => `${p.number}:${p.start}:${p.size}`).join(' ');
  if (layout(tableA) !== layout(tableB) || tableA.sectorSize !== tableB.sectorSize) return;
  const sector = tableA.sectorSize;
  const excluded: Extent[] = [
    { offset: 0, length: tableA.firstLba * sector },
    { offset: (tableA.lastLba + 1) * sector, length: Math.max(a.size, b.size) },
    ...[...tableA.partitions.values()].map((p) => ({ offset: p.start * sector, length: p.size * sector })),
  ];
  await context.compareBytes(place, a, b, { excluded, what: 'unpartitioned' });
}
