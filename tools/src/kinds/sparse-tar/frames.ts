import { createHash } from 'node:crypto';
import { open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { CommandRunner } from '../../definitions.ts';
import { fromSystemError, UserError } from '../../errors.ts';
import { copyRangeInKernel } from '../../lib/sparse-map.ts';
import type { TarSink } from './writer.ts';

/**
 * Framed zstd archives: the compressed tar is a sequence of independent zstd frames, one per
 * 16 MiB window of each member's address space (plus small frames for headers and padding), and
 * ends in a skippable frame holding an index: the sha256 and place of every data frame.
 *
 * Why: a partition image travels through several build steps (ext4 -> inject -> verity -> disk,
 * upgrade image) and each step changes a few windows at most. With the index, a step copies every
 * unchanged window's compressed frame from its input archive instead of compressing it again, so
 * a one-binary rebuild compresses megabytes, not the whole root. Reuse never changes the output:
 * a frame is reused only when its uncompressed bytes (sha256 and length) and its codec (zstd
 * version and level) are the ones this step would compress. zstd decompresses concatenated frames
 * as one stream and skips skippable frames, so any `zstd -d` and `tar --zstd` read the archives.
 */

/** Size of a window of member address space: each is compressed as one frame. */
export const FRAME_WINDOW = 16 * 1024 * 1024;

/** One compressed data frame in an archive. */
export interface FrameRecord {
  /** sha256 (hex) of the frame's uncompressed bytes. */
  sha256: string;
  /** Uncompressed length. */
  raw: number;
  /** Offset of the frame in the archive file, and its compressed length. */
  at: number;
  size: number;
}

interface FrameIndex {
  format: typeof INDEX_FORMAT;
  /** zstd version and level: frames of another codec are never reused. */
  codec: string;
  frames: FrameRecord[];
}

const INDEX_FORMAT = 'icos-frames/1';
/** A skippable frame (0x184D2A50-5F) whose payload is the index JSON, its length and this tag. */
const SKIPPABLE_MAGIC = 0x184d2a5e;
const INDEX_TAG = Buffer.from('icosidx1', 'latin1');
const INDEX_TRAILER = 4 + INDEX_TAG.length;
const ZSTD_FRAME_MAGIC = 0xfd2fb528;

/** The index frame: [magic][payload size][JSON][JSON length, u32 LE][tag]. */
export function encodeIndexFrame(codec: string, frames: readonly FrameRecord[]): Buffer {
  const index: FrameIndex = { format: INDEX_FORMAT, codec, frames: [...frames] };
  const json = Buffer.from(JSON.stringify(index), 'utf8');
  const frame = Buffer.alloc(8 + json.length + INDEX_TRAILER);
  frame.writeUInt32LE(SKIPPABLE_MAGIC, 0);
  frame.writeUInt32LE(json.length + INDEX_TRAILER, 4);
  json.copy(frame, 8);
  frame.writeUInt32LE(json.length, 8 + json.length);
  INDEX_TAG.copy(frame, 12 + json.length);
  return frame;
}

/** The index at the end of `archive`, or undefined when it has none (a plain zstd or tar file). */
export async function readFrameIndex(archive: string): Promise<FrameIndex | undefined> {
  const file = await open(archive, 'r');
  try {
    const { size } = await file.stat();
    if (size < 8 + INDEX_TRAILER) return undefined;
    const trailer = Buffer.alloc(INDEX_TRAILER);
    await file.read(trailer, 0, INDEX_TRAILER, size - INDEX_TRAILER);
    if (!trailer.subarray(4).equals(INDEX_TAG)) return undefined;
    const jsonLength = trailer.readUInt32LE(0);
    const frameStart = size - INDEX_TRAILER - jsonLength - 8;
    if (frameStart < 0) return undefined;
    const frame = Buffer.alloc(8 + jsonLength);
    await file.read(frame, 0, frame.length, frameStart);
    if (frame.readUInt32LE(0) !== SKIPPABLE_MAGIC || frame.readUInt32LE(4) !== jsonLength + INDEX_TRAILER) return undefined;
    const index = JSON.parse(frame.subarray(8).toString('utf8')) as FrameIndex;
    return index.format === INDEX_FORMAT ? index : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  } finally {
    await file.close();
  }
}

/** Where a reusable frame is: an archive file and a byte range of it. */
interface FrameSource {
  archive: string;
  at: number;
  size: number;
}

/**
 * Compressed frames that earlier steps made, by codec, content hash and length. Built from the
 * input archives of a step; an archive without an index contributes nothing.
 */
export class FrameLibrary {
  private readonly frames = new Map<string, FrameSource>();

  static async fromArchives(archives: readonly string[]): Promise<FrameLibrary> {
    const library = new FrameLibrary();
    for (const archive of archives) {
      const index = await readFrameIndex(archive).catch((error: unknown) => {
        const systemError = fromSystemError(error);
        if (systemError === undefined) throw error;
        // Read errors carry no path ("read: is a directory"): name the archive either way.
        throw new UserError(`sparse-tar: archive to reuse frames from: "${archive}": ${systemError.message.replace(/^("[^"]*"|[\w ]+): /, '')}`);
      });
      for (const frame of index?.frames ?? []) {
        library.frames.set(FrameLibrary.key(index!.codec, frame.sha256, frame.raw), { archive, at: frame.at, size: frame.size });
      }
    }
    return library;
  }

  private static key(codec: string, sha256: string, raw: number): string {
    return `${codec} ${sha256} ${raw}`;
  }

  get size(): number {
    return this.frames.size;
  }

  find(codec: string, sha256: string, raw: number): FrameSource | undefined {
    return this.frames.get(FrameLibrary.key(codec, sha256, raw));
  }
}

/** How data frames are compressed: zstd's level arguments and the codec name the index records. */
export interface FrameCodec {
  levelArgs: readonly string[];
  name: string;
}

/** The codec of `levelArgs` under the installed zstd (`zstd -V` names its version). */
export async function frameCodec(levelArgs: readonly string[], runner: CommandRunner): Promise<FrameCodec> {
  const { stdout } = await runner.run('zstd', ['-V'], { artifact: 'sparse-tar' });
  const version = /v(\d+\.\d+\.\d+)/.exec(stdout)?.[1];
  if (version === undefined) throw new UserError(`sparse-tar: cannot read the zstd version from "zstd -V": ${stdout.trim()}`);
  return { levelArgs, name: `zstd ${version} ${levelArgs.join(' ')}` };
}

/** A piece of the archive in output order: bytes made here, or a frame copied from an input. */
type Piece = { bytes: Buffer; record?: FrameRecord } | { copy: FrameSource; record: FrameRecord };

/**
 * A tar sink that writes a framed archive in order. Each window's data becomes one frame,
 * compressed (up to one zstd per core at a time) or copied from the library; header and padding
 * bytes between windows are gathered into one small frame. `finish` writes the index.
 */
export class FramedZstdWriter implements TarSink {
  private readonly pending: Array<Promise<Piece>> = [];
  private metadata: Buffer[] = [];
  private windowName: string | undefined;
  /** The current window's bytes; handed to zstd when it is compressed, kept for the next one otherwise. */
  private window = Buffer.allocUnsafe(0);
  private windowFill = 0;
  private written = 0;
  private frameCount = 0;
  private readonly records: FrameRecord[] = [];
  private readonly parallel = Math.max(1, availableParallelism());
  readonly stats = { compressed: 0, reused: 0 };

  constructor(
    private readonly out: FileHandle,
    private readonly codec: FrameCodec,
    private readonly scratchDir: string,
    private readonly runner: CommandRunner,
    private readonly library: FrameLibrary | undefined,
  ) {}

  async meta(bytes: Buffer): Promise<void> {
    await this.flushWindow();
    if (bytes.length > 0) this.metadata.push(Buffer.from(bytes));
  }

  async data(window: string, bytes: Buffer): Promise<void> {
    if (window !== this.windowName) {
      await this.flushWindow();
      await this.flushMetadata();
      this.windowName = window;
    }
    if (this.window.length === 0) this.window = Buffer.allocUnsafe(FRAME_WINDOW);
    if (this.windowFill + bytes.length > this.window.length) throw new Error(`window ${window} holds more than ${FRAME_WINDOW} bytes`);
    bytes.copy(this.window, this.windowFill);
    this.windowFill += bytes.length;
  }

  private async flushWindow(): Promise<void> {
    if (this.windowName === undefined) return;
    const bytes = this.window.subarray(0, this.windowFill);
    this.windowName = undefined;
    this.windowFill = 0;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const found = this.library?.find(this.codec.name, sha256, bytes.length);
    const record = { sha256, raw: bytes.length, at: 0, size: 0 };
    if (found !== undefined) {
      this.stats.reused += 1;
      await this.enqueue(Promise.resolve({ copy: found, record }));
    } else {
      this.stats.compressed += 1;
      this.window = Buffer.allocUnsafe(0);
      await this.enqueue(this.compress(bytes).then((frame) => ({ bytes: frame, record })));
    }
  }

  /** Writes what is still pending, then the index frame. */
  async finish(): Promise<void> {
    await this.flushWindow();
    await this.flushMetadata();
    while (this.pending.length > 0) await this.writeNext();
    const index = encodeIndexFrame(this.codec.name, this.records);
    await this.out.write(index, 0, index.length, this.written);
  }

  private async flushMetadata(): Promise<void> {
    if (this.metadata.length === 0) return;
    const bytes = Buffer.concat(this.metadata);
    this.metadata = [];
    await this.enqueue(this.compress(bytes).then((frame) => ({ bytes: frame })));
  }

  private async enqueue(piece: Promise<Piece>): Promise<void> {
    // Rejections are taken when the piece is written; until then they must not count as unhandled.
    piece.catch(() => {});
    this.pending.push(piece);
    while (this.pending.length > this.parallel) await this.writeNext();
  }

  private async writeNext(): Promise<void> {
    const piece = await this.pending.shift()!;
    // Positions are explicit: copy_file_range does not move the file offset that write() uses.
    let size: number;
    if ('copy' in piece) {
      size = piece.copy.size;
      await copyFrame(piece.copy, this.out, this.written);
    } else {
      size = piece.bytes.length;
      await this.out.write(piece.bytes, 0, size, this.written);
    }
    if (piece.record !== undefined) this.records.push({ ...piece.record, at: this.written, size });
    this.written += size;
  }

  /** One zstd frame of `bytes`, single-threaded so the bytes do not depend on the core count. */
  private async compress(bytes: Buffer): Promise<Buffer> {
    const framePath = path.join(this.scratchDir, `frame-${this.frameCount++}.zst`);
    try {
      await this.runner.run('zstd', ['-q', '-T1', ...this.codec.levelArgs, `--stream-size=${bytes.length}`, '-o', framePath], {
        input: bytes,
        artifact: 'sparse-tar',
      });
      return await readFile(framePath);
    } finally {
      await rm(framePath, { force: true });
    }
  }
}

/**
 * Copies a reused frame to `out` at `position` (in the kernel where it can), after checking that it
 * starts a zstd frame: an index that lies fails here instead of writing a corrupt archive.
 */
async function copyFrame(source: FrameSource, out: FileHandle, position: number): Promise<void> {
  const file = await open(source.archive, 'r');
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await file.read(magic, 0, 4, source.at);
    const { size } = await file.stat();
    if (bytesRead !== 4 || magic.readUInt32LE(0) !== ZSTD_FRAME_MAGIC || source.at + source.size > size) {
      throw new UserError(`sparse-tar: reused frame at byte ${source.at} of "${source.archive}": not a zstd frame (the archive's index is wrong)`);
    }
    if (copyRangeInKernel(file.fd, source.at, out.fd, position, source.size)) return;
    const bytes = Buffer.alloc(source.size);
    await file.read(bytes, 0, source.size, source.at);
    await out.write(bytes, 0, bytes.length, position);
  } finally {
    await file.close();
  }
}
