import { UserError } from '../errors.ts';

/**
 * Where logical volumes lie inside their PV, from `lvs -o lv_name,seg_start_pe,seg_pe_ranges,
 * vg_extent_size` (comma-separated, bytes) and the PV's `pe_start`: what lets the installer write
 * a volume by offset instead of activating it.
 */

export interface VolumeSegment {
  /** Bytes from the PV's start. */
  offset: number;
  length: number;
}

export interface VolumeExtents {
  /** The volume's first segment (an image written into the volume must fit in it). */
  first(name: string): VolumeSegment;
  /** All of the volume's bytes. */
  total(name: string): number;
}

const RANGE = /^[^:]+:(\d+)-(\d+)$/;

export function parseLogicalVolumes(report: string, peStartBytes: number, where: string): VolumeExtents {
  const segments = new Map<string, Array<VolumeSegment & { startExtent: number }>>();
  for (const line of report.split('\n').map((l) => l.trim()).filter((l) => l !== '')) {
    const [name, segStart, ranges, extentSize] = line.split(',');
    const range = RANGE.exec(ranges ?? '');
    const extent = Number(extentSize);
    if (name === undefined || range === null || !Number.isInteger(extent) || extent <= 0 || !/^\d+$/.test(segStart ?? '')) {
      throw new UserError(`${where}: unexpected report line "${line}"`);
    }
    const first = Number(range[1]);
    const last = Number(range[2]);
    const list = segments.get(name) ?? [];
    list.push({ startExtent: Number(segStart), offset: peStartBytes + first * extent, length: (last - first + 1) * extent });
    segments.set(name, list);
  }
  const of = (name: string) => {
    const list = segments.get(name);
    if (list === undefined) throw new UserError(`${where}: no logical volume "${name}" (has: ${[...segments.keys()].sort().join(', ')})`);
    return list.sort((a, b) => a.startExtent - b.startExtent);
  };
  return {
    first: (name) => {
      const { offset, length } = of(name)[0]!;
      return { offset, length };
    },
    total: (name) => of(name).reduce((sum, s) => sum + s.length, 0),
  };
}
