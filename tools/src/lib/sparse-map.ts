import { open, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * Content-defined data maps of (usually sparse) image files.
 *
 * A block is data when any of its bytes is non-zero; everything else is a hole. The map is a pure
 * function of the file's bytes, so it does not depend on the host filesystem's block size or on
 * how the file was written. SEEK_DATA/SEEK_HOLE (native addon) only lets us skip regions the
 * filesystem already knows are zero; without the addon every byte is read, with the same result.
 */

/** Granularity of the map: aligned 4 KiB blocks (the page size and the ext4/verity block size). */
export const MAP_BLOCK_SIZE = 4096;
const READ_SIZE = 4 * 1024 * 1024;
const ZERO_BLOCK = Buffer.alloc(MAP_BLOCK_SIZE);

export interface Extent {
  offset: number;
  length: number;
}

/** A run of data blocks and its bytes. Consecutive chunks may be adjacent (one long extent). */
export interface DataChunk {
  offset: number;
  bytes: Buffer;
}

interface SeekAddon {
  seekData(fd: number, offset: number): number;
  seekHole(fd: number, offset: number): number;
  copyRange(fdIn: number, offsetIn: number, fdOut: number, offsetOut: number, length: number): number;
}

/**
 * Where the addon is: ICOS_SPARSE_SEEK_ADDON when set (Bazel passes the one it built, since a
 * bundled icos.mjs has no build/ directory three levels up), else node-gyp's output of `npm ci`.
 */
function loadSeekAddon(): SeekAddon | undefined {
  const fromEnv = process.env.ICOS_SPARSE_SEEK_ADDON;
  // A relative ICOS_SPARSE_SEEK_ADDON is taken from the working directory (Bazel's exec root).
  const addonPath = fromEnv !== undefined && fromEnv !== '' ? path.resolve(fromEnv) : '../../../build/Release/sparse_seek.node';
  try {
    return createRequire(import.meta.url)(addonPath) as SeekAddon;
  } catch {
    return undefined;
  }
}

const seekAddon = loadSeekAddon();

/** Whether holes can be skipped without reading them (false: maps are still right, only slower). */
export const canSkipHoles = seekAddon !== undefined;

/**
 * Copies `length` bytes inside the kernel (copy_file_range). Returns false when that is not
 * possible here (no addon, or a filesystem pair that cannot), so the caller copies another way.
 */
export function copyRangeInKernel(fdIn: number, offsetIn: number, fdOut: number, offsetOut: number, length: number): boolean {
  if (seekAddon === undefined) return false;
  const copied = seekAddon.copyRange(fdIn, offsetIn, fdOut, offsetOut, length);
  if (copied >= 0 && copied !== length) throw new Error(`copy_file_range copied ${copied} of ${length} bytes: the source shrank`);
  return copied === length;
}

/** Regions [start, end) that the filesystem reports as possibly holding data, block-aligned. */
export function* allocatedRegions(fd: number, size: number): Generator<Extent> {
  if (seekAddon === undefined) {
    if (size > 0) yield { offset: 0, length: size };
    return;
  }
  let position = 0;
  while (position < size) {
    const dataStart = seekAddon.seekData(fd, position);
    if (dataStart < 0 || dataStart >= size) return;
    const holeStart = Math.min(seekAddon.seekHole(fd, dataStart), size);
    const start = dataStart - (dataStart % MAP_BLOCK_SIZE);
    const end = Math.min(size, Math.ceil(holeStart / MAP_BLOCK_SIZE) * MAP_BLOCK_SIZE);
    yield { offset: start, length: end - start };
    position = end;
  }
}

function isZero(bytes: Buffer): boolean {
  return bytes.length === MAP_BLOCK_SIZE ? ZERO_BLOCK.equals(bytes) : bytes.every((b) => b === 0);
}

/** Yields the non-zero block runs of `buffer` (read at file offset `base`) as chunks. */
function* nonZeroRuns(buffer: Buffer, base: number): Generator<DataChunk> {
  let runStart = -1;
  for (let at = 0; at < buffer.length; at += MAP_BLOCK_SIZE) {
    const zero = isZero(buffer.subarray(at, at + MAP_BLOCK_SIZE));
    if (!zero && runStart < 0) runStart = at;
    if (zero && runStart >= 0) {
      yield { offset: base + runStart, bytes: buffer.subarray(runStart, at) };
      runStart = -1;
    }
  }
  if (runStart >= 0) yield { offset: base + runStart, bytes: buffer.subarray(runStart) };
}

/**
 * Reads every data block of an open file, in order. Each yielded chunk's buffer is reused after
 * the consumer resumes the generator: copy it if it must outlive the iteration step.
 */
export async function* readDataChunks(file: FileHandle, size: number): AsyncGenerator<DataChunk> {
  const buffer = Buffer.allocUnsafe(READ_SIZE);
  for (const region of allocatedRegions(file.fd, size)) {
    const end = region.offset + region.length;
    for (let position = region.offset; position < end; position += READ_SIZE) {
      const want = Math.min(READ_SIZE, end - position);
      const { bytesRead } = await file.read(buffer, 0, want, position);
      yield* nonZeroRuns(buffer.subarray(0, bytesRead), position);
    }
  }
}

/** Merges adjacent chunks' ranges into maximal extents. */
export function mergeExtents(extents: Iterable<Extent>): Extent[] {
  const merged: Extent[] = [];
  for (const { offset, length } of extents) {
    const last = merged.at(-1);
    if (last !== undefined && last.offset + last.length === offset) last.length += length;
    else merged.push({ offset, length });
  }
  return merged;
}

/** The content-defined data map of a file: maximal runs of non-zero 4 KiB blocks. */
export async function dataExtents(filePath: string): Promise<{ size: number; extents: Extent[] }> {
  const file = await open(filePath, 'r');
  try {
    const { size } = await file.stat();
    const ranges: Extent[] = [];
    for await (const chunk of readDataChunks(file, size)) ranges.push({ offset: chunk.offset, length: chunk.bytes.length });
    return { size, extents: mergeExtents(ranges) };
  } finally {
    await file.close();
  }
}
