import { open, type FileHandle } from 'node:fs/promises';
import { readDataChunks } from './sparse-map.ts';

/**
 * Copies the data blocks of `sourcePath` into `target` at `offset`, leaving the target's holes
 * where the source is zero (the target is expected to be a fresh sparse file). Time and disk use
 * follow the amount of data, not the nominal size. Returns the number of bytes written.
 */
export async function copyDataInto(target: FileHandle, offset: number, sourcePath: string): Promise<number> {
  const source = await open(sourcePath, 'r');
  try {
    const { size } = await source.stat();
    let written = 0;
    for await (const chunk of readDataChunks(source, size)) {
      await writeFully(target, chunk.bytes, offset + chunk.offset);
      written += chunk.bytes.length;
    }
    return written;
  } finally {
    await source.close();
  }
}

async function writeFully(target: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await target.write(bytes, done, bytes.length - done, position + done);
    done += bytesWritten;
  }
}
