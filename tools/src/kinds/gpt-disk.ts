import { open, stat } from 'node:fs/promises';
import { z } from 'zod';
import { UserError, type Problem, throwIfProblems } from '../errors.ts';
import { IMAGE_LIMIT_RULE, MAX_IMAGE_BYTES } from '../inputs/limits.ts';
import { BACKUP_GPT_SECTORS, readPartitionTable, tableEndSector } from '../inputs/partitions-csv.ts';
import { SECTOR_SIZE, type Partition, type PartitionTable } from '../inputs/tables.ts';
import { copyDataInto } from '../lib/copy-data.ts';
import { describeSize } from '../lib/size.ts';
import { MESSAGES, quoted } from '../messages.ts';
import type { ArtifactKind } from './kind.ts';
import { lvmVolumeOffsets } from './lvm/lvm-origins.ts';
import { describeFileType } from '../lib/input-file.ts';

/** The disk GUID of every IC-OS image (IC-OS `build_disk_image.py`), so disks are reproducible. */
export const IC_OS_DISK_GUID = '2B110BB7-CDEC-7D41-B97E-893EDCBE5428';

const options = z.object({
  /** partitions.csv in the IC-OS format. */
  partitions: z.string().min(1),
  /** Partition name -> image file. Names are matched exactly, never by file-name substring. */
  images: z.record(z.string(), z.string().min(1)).default({}),
  /** Disk size in bytes; the disk is at least the table plus 1 MiB for the backup GPT. */
  expandedSize: z.number().int().positive().optional(),
  /** Fill each empty `B_x` slot with the image of `A_x` (test disks); otherwise B slots stay empty. */
  populateB: z.boolean().default(false),
  diskGuid: z.string().regex(/^[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}$/i).default(IC_OS_DISK_GUID),
}).strict();

export type GptDiskOptions = z.input<typeof options>;

interface PartitionFill {
  partition: Partition;
  image: string;
  imageSize: number;
}

export interface GptDiskPlan {
  table: PartitionTable;
  diskSize: number;
  diskGuid: string;
  fills: PartitionFill[];
}

/** The sfdisk script that writes the table: sfdisk owns the GPT bytes (headers, CRCs, protective MBR). */
export function sfdiskScript(plan: Pick<GptDiskPlan, 'table' | 'diskGuid'>): string {
  const lines = ['label: gpt', `label-id: ${plan.diskGuid.toUpperCase()}`, 'unit: sectors', ''];
  for (const p of plan.table.partitions) {
    lines.push(`start=${p.start}, size=${p.size}, type=${p.typeGuid}, uuid=${p.uuid}, name="${p.name}"`);
  }
  return `${lines.join('\n')}\n`;
}

/** Which partition gets which image: explicit names, plus A -> B copies when asked. */
function chooseImages(table: PartitionTable, images: Record<string, string>, populateB: boolean): { chosen: Map<string, string>; problems: Problem[] } {
  const byName = new Map(table.partitions.map((p) => [p.name, p]));
  const chosen = new Map<string, string>();
  const problems: Problem[] = [];
  for (const [name, image] of Object.entries(images)) {
    if (!byName.has(name)) {
      problems.push({ file: table.file, message: `--part ${name}=${image}: no partition "${name}" in the table (it has ${[...byName.keys()].join(', ')})` });
    } else if (name.startsWith('B_') && !populateB) {
      problems.push({ file: table.file, message: `--part ${name}=${image}: "${name}" is a B slot, which ships empty: pass --populate-b to fill B slots` });
    } else {
      chosen.set(name, image);
    }
  }
  if (populateB) {
    for (const [name, image] of [...chosen]) {
      const twin = `B_${name.slice(2)}`;
      if (name.startsWith('A_') && byName.has(twin) && !chosen.has(twin)) chosen.set(twin, image);
    }
  }
  return { chosen, problems };
}

/** The expanded size is a whole number of sectors (sfdisk and the backup GPT count in them) within the limit. */
function checkExpandedSize(partitions: string, size: number | undefined): void {
  if (size === undefined) return;
  const where = `gpt(${partitions}): --expand ${describeSize(size)}`;
  if (size % SECTOR_SIZE !== 0) throw new UserError(`${where}: must be a multiple of ${SECTOR_SIZE} bytes (whole sectors)`);
  if (size > MAX_IMAGE_BYTES) throw new UserError(MESSAGES.exceedsLimit(where, IMAGE_LIMIT_RULE));
}

async function planGptDisk(input: z.output<typeof options>): Promise<GptDiskPlan> {
  checkExpandedSize(input.partitions, input.expandedSize);
  const table = await readPartitionTable(input.partitions, { diskSize: input.expandedSize });
  const minimumSize = (tableEndSector(table) + BACKUP_GPT_SECTORS) * SECTOR_SIZE;
  const diskSize = Math.max(input.expandedSize ?? 0, minimumSize);
  const { chosen, problems } = chooseImages(table, input.images, input.populateB);
  const fills: PartitionFill[] = [];
  for (const partition of table.partitions) {
    const image = chosen.get(partition.name);
    if (image === undefined) continue;
    const imageSize = await sizeOf(image, partition.name);
    if (imageSize === undefined) {
      problems.push({ file: table.file, line: partition.line, message: `image ${quoted(image)} for partition "${partition.name}": no such file` });
    } else if (imageSize > partition.size * SECTOR_SIZE) {
      problems.push({
        file: table.file,
        line: partition.line,
        message: `image "${image}" (${describeSize(imageSize)}) is larger than partition "${partition.name}" (${describeSize(partition.size * SECTOR_SIZE)})`,
      });
    } else {
      fills.push({ partition, image, imageSize });
    }
  }
  throwIfProblems(problems);
  return { table, diskSize, diskGuid: input.diskGuid, fills };
}

async function sizeOf(file: string, partition: string): Promise<number | undefined> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new UserError(MESSAGES.notRegularFile(`image "${file}" for partition "${partition}"`, describeFileType(info)));
    return info.size;
  } catch (error) {
    if (error instanceof UserError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(MESSAGES.cannotRead(`image "${file}" for partition "${partition}"`, error));
  }
}

/** A GPT disk image: the table written by sfdisk, partition images copied block by block, holes kept. */
export const gptDiskKind: ArtifactKind<z.output<typeof options>, GptDiskPlan> = {
  name: 'gpt',
  options,
  plan: planGptDisk,
  // Each partition's frames in its own archive line up with the disk's windows from its start;
  // an LVM partition's archive restarts its windows at each LV, and so does the disk.
  async packOrigins(input) {
    const table = await readPartitionTable(input.partitions);
    const origins = [0];
    for (const partition of table.partitions) {
      const start = partition.start * SECTOR_SIZE;
      origins.push(start);
      const image = input.images[partition.name];
      if (image !== undefined) origins.push(...(await lvmVolumeOffsets(image)).map((offset) => start + offset));
    }
    return origins;
  },
  async build(plan, outPath, { runner }) {
    const disk = await open(outPath, 'wx', 0o644);
    try {
      await disk.truncate(plan.diskSize);
      await runner.run('sfdisk', ['--no-reread', '--no-tell-kernel', '--quiet', outPath], {
        input: sfdiskScript(plan),
        artifact: `gpt(${outPath})`,
      });
      for (const fill of plan.fills) await copyDataInto(disk, fill.partition.start * SECTOR_SIZE, fill.image, fill.imageSize);
    } finally {
      await disk.close();
    }
  },
};
