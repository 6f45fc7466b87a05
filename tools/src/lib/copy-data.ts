import { open, type FileHandle } from 'node:fs/promises';
import { UserError } from '../errors.ts';
import { allocatedRegions, copyRangeInKernel, readDataChunks } from './sparse-map.ts';

/**
 * Copies the data of `sourcePath` into `target` at `offset`, leaving the target's holes where the
 * source has holes (the target is expected to be a fresh sparse file). Time and disk use follow
 * the amount of data, not the nominal size.
 *
 * Why not `cp --sparse=always`: we copy into the middle of a disk or LVM image, not to a file of
 * its own. Regions the filesystem reports as data are copied inside the kernel
 * (copy_file_range); where that is not possible, data blocks are read and written, skipping zero
 * blocks. Either way the target's bytes are the source's bytes.
 */
export async function copyDataInto(target: FileHandle, offset: number, sourcePath: string, plannedSize: number): Promise<void> {
  const source = await open(sourcePath, 'r');
  try {
    const { size } = await source.stat();
    if (size !== plannedSize) {
      throw new UserError(`image "${sourcePath}" changed size while building (${plannedSize} bytes planned, ${size} now)`);
    }
    if (copyInKernel(source, target, offset, size)) return;
    for await (const chunk of readDataChunks(source, size)) {
      await writeFully(target, chunk.bytes, offset + chunk.offset);
    }
  } finally {
    await source.close();
  }
}

function copyInKernel(source: FileHandle, target: FileHandle, offset: number, size: number): boolean {
  let first = true;
  for (const region of allocatedRegions(source.fd, size)) {
    const copied = copyRangeInKernel(source.fd, region.offset, target.fd, offset + region.offset, region.length);
    // Only the first region may fall back: the kernel either copies between these files or not.
    if (!copied && first) return false;
    if (!copied) throw new Error(`copy_file_range stopped working in the middle of ${source.fd}`);
    first = false;
  }
  return true;
}

/** Writes all of `bytes` at `position` (a single write may be short). */
async function writeFully(target: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await target.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}

/** A fresh sparse copy of a whole image at `outPath` (its data extents only), `size` bytes long. */
export async function copyImageFile(sourcePath: string, size: number, outPath: string): Promise<void> {
  const out = await open(outPath, 'w');
  try {
    await out.truncate(size);
    await copyDataInto(out, 0, sourcePath, size);
  } finally {
    await out.close();
  }
}
