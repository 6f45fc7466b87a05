import type { FileHandle } from 'node:fs/promises';
import type { CommandRunner } from '../definitions.ts';
import { UserError } from '../errors.ts';
import { BLOCK_SIZE, decodeHeaders, type DecodedHeaders } from '../kinds/sparse-tar/header.ts';
import { statRegularFile } from '../lib/input-file.ts';
import type { Extent } from '../lib/sparse-map.ts';
import { quoted } from '../messages.ts';

/**
 * Writes the one member of an icos image archive (`disk-img.tar.zst`) onto a disk as it is
 * decompressed: `zstd -dc` streams the tar, and only the member's stored extents are written, at
 * their offsets. Nothing of the image is held in memory or in a file (a node installer has
 * neither room for a 100 GiB image nor time to write its holes).
 */

/** Bytes handed to one positional write: large writes, few system calls. */
const WRITE_CHUNK = 4 * 1024 * 1024;

/** Pulls exact byte counts out of a stream's chunks. */
class StreamReader {
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);

  constructor(stream: NodeJS.ReadableStream) {
    this.chunks = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** Exactly `count` bytes, or fewer only when the stream ends first. */
  async read(count: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < count) {
      if (this.pending.length === 0) {
        const next = await this.chunks.next();
        if (next.done === true) break;
        this.pending = next.value;
      }
      const take = this.pending.subarray(0, count - have);
      this.pending = this.pending.subarray(take.length);
      parts.push(take);
      have += take.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
  }
}

async function readHeaders(reader: StreamReader, archive: string): Promise<DecodedHeaders> {
  let blocks = await reader.read(BLOCK_SIZE);
  try {
    for (;;) {
      const decoded = decodeHeaders(blocks);
      if (decoded !== 'need-more') return decoded;
      const next = await reader.read(BLOCK_SIZE);
      if (next.length < BLOCK_SIZE) throw new Error('archive ended inside a sparse map');
      blocks = Buffer.concat([blocks, next]);
    }
  } catch (error) {
    throw new UserError(`${archive}: not an image archive icos wrote: ${(error as Error).message}`);
  }
}

/** What an archive's member is: its name, size on disk and stored extents. */
export interface ArchivedImage {
  name: string;
  realSize: number;
  storedBytes: number;
}

function describe(headers: DecodedHeaders): ArchivedImage {
  return { name: headers.name, realSize: headers.sparse?.realSize ?? headers.storedSize, storedBytes: headers.storedSize };
}

/**
 * The member's headers only: the decompressor is stopped once they are read. `flag` names the
 * archive in messages; the path must be a regular file (zstd would wait forever on a FIFO).
 */
export async function peekArchivedImage(archive: string, flag: string, runner: CommandRunner): Promise<ArchivedImage> {
  await statRegularFile(archive, `${flag} ${quoted(archive)}`);
  const run = runner.stream('zstd', ['-q', '-dc', archive], { artifact: archive });
  try {
    return describe(await readHeaders(new StreamReader(run.stdout), archive));
  } finally {
    run.stop();
    await run.done;
  }
}

/** Where the member's bytes go: image offset `o` is written at `targetOffset + o`. */
export interface ImageWrite {
  archive: string;
  target: FileHandle;
  targetOffset: number;
  /** The member may be at most this long (the room on the target). */
  limit: number;
  /** Image bytes before this offset are returned instead of written (a GPT written last). */
  holdHead?: number;
  /** Given the held head: image bytes from the returned offset on are dropped (a backup GPT). */
  dropFrom?: (head: Buffer, realSize: number) => number;
}

export interface ImageWritten extends ArchivedImage {
  head: Buffer;
  writtenBytes: number;
}

/** Streams the archive's member onto the target; see ImageWrite for what is held back. */
export async function writeArchivedImage(request: ImageWrite, runner: CommandRunner): Promise<ImageWritten> {
  const { archive, target, targetOffset, limit } = request;
  const run = runner.stream('zstd', ['-q', '-dc', archive], { artifact: archive });
  let finished = false;
  try {
    const reader = new StreamReader(run.stdout);
    const headers = await readHeaders(reader, archive);
    const image = describe(headers);
    if (image.realSize > limit) {
      throw new UserError(`${archive}: its image "${image.name}" is ${image.realSize} bytes, the room for it on the target is ${limit}`);
    }
    const holdHead = Math.min(request.holdHead ?? 0, image.realSize);
    const head = Buffer.alloc(holdHead);
    let dropFrom = image.realSize;
    let tailKnown = false;
    let writtenBytes = 0;
    const map: Extent[] = headers.sparse?.map ?? [{ offset: 0, length: headers.storedSize }];
    for (const extent of map) {
      for (let done = 0; done < extent.length; ) {
        const bytes = await reader.read(Math.min(WRITE_CHUNK, extent.length - done));
        if (bytes.length === 0) throw new UserError(`${archive}: the archive ends inside "${image.name}" (truncated?)`);
        const at = extent.offset + done;
        done += bytes.length;
        // The held head; once bytes past it arrive, the head is complete (the map is sorted)
        // and tells where the dropped tail begins.
        const inHead = Math.max(0, Math.min(bytes.length, holdHead - at));
        if (inHead > 0) bytes.copy(head, at, 0, inHead);
        if (!tailKnown && at + bytes.length > holdHead) {
          tailKnown = true;
          if (request.dropFrom !== undefined) dropFrom = request.dropFrom(head, image.realSize);
        }
        const keepEnd = Math.max(inHead, Math.min(bytes.length, dropFrom - at));
        if (keepEnd > inHead) {
          await target.write(bytes, inHead, keepEnd - inHead, targetOffset + at + inHead);
          writtenBytes += keepEnd - inHead;
        }
      }
    }
    finished = true;
    await run.done;
    return { ...image, head, writtenBytes };
  } finally {
    if (!finished) {
      run.stop();
      await run.done.catch(() => undefined);
    }
  }
}
