import { open, stat, type FileHandle } from 'node:fs/promises';
import { allocatedRegions, mergeExtents, type Extent } from '../lib/sparse-map.ts';

/**
 * A byte range of an image file: a whole file, a partition inside a disk, an LV inside a PV.
 * Layers hand sub-regions down instead of copying them out, so nothing is extracted twice.
 */
export interface Region {
  file: string;
  offset: number;
  size: number;
}

/** Granularity of reported byte ranges (the ext4, verity and page block size). */
export const DIFF_BLOCK = 4096;
const READ_BYTES = 4 * 1024 * 1024;

export function subRegion(region: Region, offset: number, size: number): Region {
  return { file: region.file, offset: region.offset + offset, size: Math.max(0, Math.min(size, region.size - offset)) };
}

/** `length` bytes at `at` inside the region (fewer at its end). */
export async function readRegion(region: Region, at: number, length: number): Promise<Buffer> {
  const file = await open(region.file, 'r');
  try {
    const bytes = Buffer.alloc(Math.max(0, Math.min(length, region.size - at)));
    const { bytesRead } = await file.read(bytes, 0, bytes.length, region.offset + at);
    return bytes.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** Ranges of the region (relative to its start) that may hold data: everything else reads as zero. */
function dataRanges(fd: number, fileSize: number, region: Region): Extent[] {
  const ranges: Extent[] = [];
  const end = region.offset + region.size;
  for (const extent of allocatedRegions(fd, fileSize)) {
    const start = Math.max(extent.offset, region.offset);
    const stop = Math.min(extent.offset + extent.length, end);
    if (stop > start) ranges.push({ offset: start - region.offset, length: stop - start });
    if (extent.offset >= end) break;
  }
  return ranges;
}

/** The union of two sorted range lists, block-aligned. */
function union(a: Extent[], b: Extent[], limit: number): Extent[] {
  const all = [...a, ...b]
    .map(({ offset, length }) => {
      const start = Math.floor(offset / DIFF_BLOCK) * DIFF_BLOCK;
      return { start, end: Math.min(limit, Math.ceil((offset + length) / DIFF_BLOCK) * DIFF_BLOCK) };
    })
    .sort((x, y) => x.start - y.start);
  const merged: Array<{ start: number; end: number }> = [];
  for (const range of all) {
    const last = merged.at(-1);
    if (last !== undefined && range.start <= last.end) last.end = Math.max(last.end, range.end);
    else merged.push({ ...range });
  }
  return merged.map(({ start, end }) => ({ offset: start, length: end - start }));
}

/** `ranges` without the parts inside `excluded` (both relative to the same start). */
export function subtract(ranges: Extent[], excluded: readonly Extent[]): Extent[] {
  let result = ranges;
  for (const cut of excluded) {
    const cutEnd = cut.offset + cut.length;
    result = result.flatMap((range) => {
      const end = range.offset + range.length;
      if (cutEnd <= range.offset || cut.offset >= end) return [range];
      const pieces: Extent[] = [];
      if (cut.offset > range.offset) pieces.push({ offset: range.offset, length: cut.offset - range.offset });
      if (cutEnd < end) pieces.push({ offset: cutEnd, length: end - cutEnd });
      return pieces;
    });
  }
  return result;
}

async function readFully(file: FileHandle, buffer: Buffer, length: number, position: number): Promise<Buffer> {
  const bytes = buffer.subarray(0, length);
  const { bytesRead } = await file.read(bytes, 0, length, position);
  bytes.fill(0, bytesRead); // past the end of a file reads as zero, as a hole does
  return bytes;
}

/**
 * The 4 KiB-block ranges (relative to the regions' starts) where two regions differ, over their
 * common length and outside `excluded`, at most `limit` of them. Holes of both files are skipped
 * without reading, so a mostly sparse disk image is compared in the time its data takes.
 */
export async function differingRanges(a: Region, b: Region, options: { limit: number; excluded?: readonly Extent[]; firstOnly?: boolean }): Promise<Extent[]> {
  const common = Math.min(a.size, b.size);
  const [fileA, fileB] = [await open(a.file, 'r'), await open(b.file, 'r')];
  try {
    const [statA, statB] = [await fileA.stat(), await fileB.stat()];
    const candidates = subtract(
      union(dataRanges(fileA.fd, statA.size, a), dataRanges(fileB.fd, statB.size, b), common),
      options.excluded ?? [],
    );
    const found: Extent[] = [];
    const [bufferA, bufferB] = [Buffer.allocUnsafe(READ_BYTES), Buffer.allocUnsafe(READ_BYTES)];
    for (const range of candidates) {
      const end = range.offset + range.length;
      for (let at = range.offset; at < end; at += READ_BYTES) {
        const length = Math.min(READ_BYTES, end - at);
        const bytesA = await readFully(fileA, bufferA, length, a.offset + at);
        const bytesB = await readFully(fileB, bufferB, length, b.offset + at);
        if (bytesA.equals(bytesB)) continue;
        for (let block = 0; block < length; block += DIFF_BLOCK) {
          const stop = Math.min(block + DIFF_BLOCK, length);
          if (bytesA.subarray(block, stop).equals(bytesB.subarray(block, stop))) continue;
          if (options.firstOnly === true) return [{ offset: at + block, length: stop - block }];
          const last = found.at(-1);
          if (last !== undefined && last.offset + last.length === at + block) last.length += stop - block;
          else if (found.length >= options.limit) return found;
          else found.push({ offset: at + block, length: stop - block });
        }
      }
    }
    return mergeExtents(found);
  } finally {
    await fileA.close();
    await fileB.close();
  }
}

/** Whether two regions hold the same bytes (and have the same size). */
export async function sameBytes(a: Region, b: Region): Promise<boolean> {
  return a.size === b.size && (await differingRanges(a, b, { limit: 1, firstOnly: true })).length === 0;
}

/** `bytes 4096-8191`: an inclusive range, as cmp and hexdump users read it. */
export function describeRange(range: Extent): string {
  return `bytes ${range.offset}-${range.offset + range.length - 1}`;
}

/** A whole file as a region. */
export async function statRegion(file: string): Promise<Region> {
  return { file, offset: 0, size: (await stat(file)).size };
}
