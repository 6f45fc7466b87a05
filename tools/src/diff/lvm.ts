import { UserError } from '../errors.ts';
import type { Extent } from '../lib/sparse-map.ts';
import type { DiffContext } from './context.ts';
import { parseLvmText, type LvmSection, type LvmValue } from './lvm-text.ts';
import { readRegion, subRegion, type Region } from './region.ts';

/**
 * LVM2 physical volumes (one VG, as the lvm kind writes them and lvm2 reads them): the label and
 * metadata area are read here, without lvm2 or device-mapper, then the VG's fields, each LV's
 * fields and each LV's data (linear LVs, whose bytes lie in one piece) under `LV name`.
 */

const SECTOR = 512;

interface LogicalVolume {
  name: string;
  id: string;
  /** PV ranges in extents, in LV order. */
  segments: Array<{ startExtent: number; extentCount: number; pvExtent: number }>;
  fields: Record<string, string>;
}

interface PhysicalVolume {
  vgName: string;
  /** Bytes of the data area's start (pe_start) and of one extent. */
  peStart: number;
  extentBytes: number;
  vgFields: Record<string, string>;
  volumes: Map<string, LogicalVolume>;
  /** Where the label and metadata live: compared through the fields above, not as bytes. */
  metadataEnd: number;
}

function text(value: LvmValue | undefined): string {
  if (value === undefined) return '(none)';
  return typeof value === 'object' && !Array.isArray(value) ? '{...}' : JSON.stringify(value);
}

function section(value: LvmValue | undefined): LvmSection {
  return value !== undefined && typeof value === 'object' && !Array.isArray(value) ? value : {};
}

async function readPhysicalVolume(region: Region, where: string): Promise<PhysicalVolume> {
  const head = await readRegion(region, 0, 4 * SECTOR);
  let label = -1;
  for (let sector = 0; sector < 4 && label < 0; sector++) if (head.toString('latin1', sector * SECTOR, sector * SECTOR + 8) === 'LABELONE') label = sector * SECTOR;
  const bad = (rule: string) => new UserError(`${where}: LVM2 physical volume: ${rule}`);
  if (label < 0) throw bad('no LABELONE sector');
  let at = label + head.readUInt32LE(label + 20) + 32 + 8; // pv_header: uuid, device size, then data areas
  const number = (offset: number) => Number(head.readBigUInt64LE(offset));
  while (number(at) !== 0) at += 16;
  at += 16;
  const mdaOffset = number(at);
  if (mdaOffset === 0) throw bad('no metadata area');
  const mda = await readRegion(region, mdaOffset, SECTOR);
  const textOffset = mdaOffset + Number(mda.readBigUInt64LE(40));
  const textSize = Number(mda.readBigUInt64LE(48));
  if (mda.toString('latin1', 4, 20) !== ' LVM2 x[5A%r0N*>' || textSize === 0 || textSize > 64 * 1024 * 1024) throw bad('no metadata text in the metadata area');
  const raw = (await readRegion(region, textOffset, textSize)).toString('utf8');
  let top: LvmSection;
  try {
    top = parseLvmText(raw);
  } catch (error) {
    throw bad(`metadata text: ${(error as Error).message}`);
  }
  const vgName = Object.keys(top).find((key) => typeof top[key] === 'object' && !Array.isArray(top[key]));
  if (vgName === undefined) throw bad('the metadata text names no volume group');
  const vg = section(top[vgName]);
  const pv = section(Object.values(section(vg.physical_volumes))[0]);
  const extentBytes = Number(vg.extent_size) * SECTOR;
  const vgFields: Record<string, string> = { 'VG name': JSON.stringify(vgName) };
  for (const key of ['id', 'seqno', 'extent_size', 'status', 'flags']) vgFields[`VG ${key}`] = text(vg[key]);
  for (const key of ['id', 'dev_size', 'pe_start', 'pe_count', 'status']) vgFields[`PV ${key}`] = text(pv[key]);
  for (const key of ['creation_host', 'creation_time', 'description']) vgFields[`metadata ${key}`] = text(top[key]);
  const volumes = new Map<string, LogicalVolume>();
  for (const [name, value] of Object.entries(section(vg.logical_volumes))) {
    const lv = section(value);
    const segments = Object.entries(lv)
      .filter(([key]) => /^segment\d+$/.test(key))
      .map(([, segment]) => {
        const seg = section(segment);
        const stripes = Array.isArray(seg.stripes) ? seg.stripes : [];
        return { startExtent: Number(seg.start_extent), extentCount: Number(seg.extent_count), pvExtent: Number(stripes[1]) };
      })
      .sort((x, y) => x.startExtent - y.startExtent);
    const fields: Record<string, string> = {};
    for (const [key, field] of Object.entries(lv)) if (!/^segment\d+$/.test(key)) fields[key] = text(field);
    for (const [index, segment] of segments.entries()) fields[`segment ${index + 1}`] = `extents ${segment.pvExtent}-${segment.pvExtent + segment.extentCount - 1} of the PV`;
    volumes.set(name, { name, id: text(lv.id), segments, fields });
  }
  return { vgName, peStart: Number(pv.pe_start) * SECTOR, extentBytes, vgFields, volumes, metadataEnd: Number(pv.pe_start) * SECTOR };
}

/** The LV's bytes when they lie in one piece of the PV (linear, contiguous segments). */
function volumeRegion(pv: PhysicalVolume, lv: LogicalVolume, region: Region): Region | undefined {
  const first = lv.segments[0];
  if (first === undefined) return undefined;
  let extents = 0;
  for (const segment of lv.segments) {
    if (!Number.isInteger(segment.pvExtent) || segment.pvExtent !== first.pvExtent + extents) return undefined;
    extents += segment.extentCount;
  }
  return subRegion(region, pv.peStart + first.pvExtent * pv.extentBytes, extents * pv.extentBytes);
}

export async function compareLvm(context: DiffContext, place: string[], a: Region, b: Region): Promise<void> {
  const { report } = context;
  const [pvA, pvB] = [await readPhysicalVolume(a, `diff(${a.file})`), await readPhysicalVolume(b, `diff(${b.file})`)];
  for (const key of new Set([...Object.keys(pvA.vgFields), ...Object.keys(pvB.vgFields)])) report.field(place, `LVM ${key}`, pvA.vgFields[key], pvB.vgFields[key]);
  const names = [...new Set([...pvA.volumes.keys(), ...pvB.volumes.keys()])];
  const pairs: Array<[LogicalVolume, LogicalVolume]> = [];
  for (const name of names) {
    const [lvA, lvB] = [pvA.volumes.get(name), pvB.volumes.get(name)];
    if (lvA === undefined || lvB === undefined) {
      report.add({ place: [...place, `LV ${name}`], what: `only in ${lvA === undefined ? 'B' : 'A'}` });
      continue;
    }
    for (const key of new Set([...Object.keys(lvA.fields), ...Object.keys(lvB.fields)])) report.field([...place, `LV ${name}`], key, lvA.fields[key], lvB.fields[key]);
    pairs.push([lvA, lvB]);
  }
  const excludedA: Extent[] = [{ offset: 0, length: pvA.metadataEnd }];
  let sameLayout = pvA.peStart === pvB.peStart && pvA.extentBytes === pvB.extentBytes;
  for (const [lvA, lvB] of pairs) {
    if (report.stopHere()) break;
    const [regionA, regionB] = [volumeRegion(pvA, lvA, a), volumeRegion(pvB, lvB, b)];
    if (regionA === undefined || regionB === undefined) {
      sameLayout = false; // an LV in pieces is left to the bytes of the whole PV
      continue;
    }
    await context.compareRegion([...place, `LV ${lvA.name}`], regionA, regionB);
    excludedA.push({ offset: regionA.offset - a.offset, length: regionA.size });
    if (regionA.offset - a.offset !== regionB.offset - b.offset || regionA.size !== regionB.size) sameLayout = false;
  }
  if (sameLayout && pairs.length === pvA.volumes.size && pairs.length === pvB.volumes.size) {
    await context.compareBytes(place, a, b, { excluded: excludedA, what: 'outside the LVs:' });
  }
}
