import { createHash } from 'node:crypto';
import { open, readFile, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { CommandRunner } from '../../definitions.ts';
import { fromSystemError, UserError } from '../../errors.ts';
import type { TarSink } from './writer.ts';
import { openRegularFile } from '../../lib/input-file.ts';
import { notJson } from '../../messages.ts';

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
 * version and level) are the ones this step would compress, and only after its bytes have been
 * checked against the index (`verifiedFrame`). zstd decompresses concatenated frames as one
 * stream and skips skippable frames, so any `zstd -d` and `tar --zstd` read the archives.
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
  /** sha256 (hex) of the compressed frame: the exact bytes a reuse copies. */
  frameSha256: string;
}

/** Version 2 added `frameSha256`; archives of version 1 are not reused (their frames cannot be checked). */
const INDEX_FORMAT = 'icos-frames/2';

const SHA256_HEX = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 as 64 lowercase hex digits');
const BYTE_OFFSET = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** The index JSON. Strict: an index made by this code has exactly these fields. */
const frameIndexSchema = z
  .object({
    format: z.literal(INDEX_FORMAT),
    /** zstd version and level: frames of another codec are never reused. */
    codec: z.string().min(1),
    frames: z.array(
      z
        .object({
          sha256: SHA256_HEX,
          raw: z.number().int().min(1).max(FRAME_WINDOW),
          at: BYTE_OFFSET,
          size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
          frameSha256: SHA256_HEX,
        })
        .strict(),
    ),
  })
  .strict();

type FrameIndex = z.infer<typeof frameIndexSchema>;
/** A skippable frame (0x184D2A50-5F) whose payload is the index JSON, its length and this tag. */
const SKIPPABLE_MAGIC = 0x184d2a5e;
const INDEX_TAG = Buffer.from('icosidx1', 'latin1');
const INDEX_TRAILER = 4 + INDEX_TAG.length;

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

/**
 * The index at the end of `archive`, or undefined when it has none (a plain zstd or tar file).
 * An archive that ends in the index tag but whose index is malformed or points outside the
 * archive is refused: reusing or trusting it could produce wrong output.
 */
export async function readFrameIndex(archive: string): Promise<FrameIndex | undefined> {
  // A FIFO or device given as an archive is refused, not opened (the open would never return).
  const file = await openRegularFile(archive, `sparse-tar: archive to reuse frames from: "${archive}"`);
  try {
    const { size } = await file.stat();
    if (size < 8 + INDEX_TRAILER) return undefined;
    const trailer = Buffer.alloc(INDEX_TRAILER);
    await file.read(trailer, 0, INDEX_TRAILER, size - INDEX_TRAILER);
    if (!trailer.subarray(4).equals(INDEX_TAG)) return undefined;
    const jsonLength = trailer.readUInt32LE(0);
    const frameStart = size - INDEX_TRAILER - jsonLength - 8;
    const bad = (rule: string) => new UserError(`sparse-tar: archive "${archive}": frame index: ${rule}`);
    if (frameStart < 0) throw bad(`its trailer gives an index of ${jsonLength} bytes, longer than the archive`);
    const frame = Buffer.alloc(8 + jsonLength);
    await file.read(frame, 0, frame.length, frameStart);
    if (frame.readUInt32LE(0) !== SKIPPABLE_MAGIC || frame.readUInt32LE(4) !== jsonLength + INDEX_TRAILER) {
      throw bad('the index is not in a skippable zstd frame of the length its trailer gives');
    }
    return parseFrameIndex(frame.subarray(8), frameStart, bad);
  } finally {
    await file.close();
  }
}

/** Checks the index JSON: the schema, then every frame inside the archive before the index, in order. */
function parseFrameIndex(json: Buffer, indexStart: number, bad: (rule: string) => UserError): FrameIndex {
  let value: unknown;
  try {
    value = JSON.parse(json.toString('utf8'));
  } catch (error) {
    throw bad(notJson(error));
  }
  const parsed = frameIndexSchema.safeParse(value);
  if (!parsed.success) {
    throw bad(parsed.error.issues.map((issue) => `field "${issue.path.join('.') || '(top level)'}": ${issue.message}`).join('; '));
  }
  let end = 0;
  parsed.data.frames.forEach((frame, index) => {
    if (frame.at < end || frame.at + frame.size > indexStart) {
      throw bad(`field "frames.${index}": bytes ${frame.at} to ${frame.at + frame.size} overlap another frame or are not before the index (at byte ${indexStart})`);
    }
    end = frame.at + frame.size;
  });
  return parsed.data;
}

/** Where a reusable frame is: an archive file, a byte range of it and the sha256 of that range. */
interface FrameSource {
  archive: string;
  at: number;
  size: number;
  frameSha256: string;
}

/**
 * Compressed frames that earlier steps made, by codec, content hash and length. Built from the
 * input archives of a step; an archive without an index contributes nothing, unless `indexRequired`
 * (`icos pack --reuse`, where such an archive is a mistake the user should hear about).
 */
export class FrameLibrary {
  private readonly frames = new Map<string, FrameSource>();

  static async fromArchives(archives: readonly string[], { indexRequired = false } = {}): Promise<FrameLibrary> {
    const library = new FrameLibrary();
    for (const archive of archives) {
      const index = await readFrameIndex(archive).catch((error: unknown) => {
        const systemError = fromSystemError(error);
        if (systemError === undefined) throw error;
        // Read errors carry no path ("read: is a directory"): name the archive either way.
        throw new UserError(`sparse-tar: archive to reuse frames from: "${archive}": ${systemError.message.replace(/^("[^"]*"|[\w ]+): /, '')}`);
      });
      if (index === undefined && indexRequired) {
        throw new UserError(`sparse-tar: archive to reuse frames from: "${archive}": not an archive made by icos (it does not end in an icos frame index)`);
      }
      for (const frame of index?.frames ?? []) {
        const source = { archive, at: frame.at, size: frame.size, frameSha256: frame.frameSha256 };
        library.frames.set(FrameLibrary.key(index!.codec, frame.sha256, frame.raw), source);
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

/** A piece of the archive in output order: a frame (compressed here or reused) or the index. */
interface Piece {
  bytes: Buffer;
  record?: FrameRecord;
}

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
    const record = { sha256, raw: bytes.length, at: 0, size: 0, frameSha256: '' };
    if (found !== undefined) {
      this.stats.reused += 1;
      await this.enqueue(this.verifiedFrame(found, record).then((frame) => ({ bytes: frame, record })));
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
    const size = piece.bytes.length;
    await this.out.write(piece.bytes, 0, size, this.written);
    if (piece.record !== undefined) {
      const frameSha256 = createHash('sha256').update(piece.bytes).digest('hex');
      this.records.push({ ...piece.record, at: this.written, size, frameSha256 });
    }
    this.written += size;
  }

  /**
   * The bytes of a frame to reuse, checked twice before they are copied:
   * - their sha256 must be the index's `frameSha256`: the copy is then exactly the frame icos
   *   wrote, so the output is byte for byte the one compressing would give (a decompression check
   *   alone would accept another encoding of the same content, e.g. after a bit flip zstd shrugs
   *   off in an unused header bit);
   * - they must decompress to the window's bytes (sha256 and length): an index rewritten to name
   *   other content (whose `frameSha256` a forger can recompute) cannot put wrong bytes under a
   *   member's name. Decompressing runs at about 1 GB/s, far faster than level 8 compression,
   *   so reuse keeps nearly all of its gain.
   * What no check short of compressing again can catch is a forged `codec` field over frames of
   * another level: the content is still right, only the compressed bytes would differ.
   */
  private async verifiedFrame(source: FrameSource, expected: { sha256: string; raw: number }): Promise<Buffer> {
    const where = `sparse-tar: reused frame at byte ${source.at} of "${source.archive}"`;
    const bytes = Buffer.alloc(source.size);
    const file = await open(source.archive, 'r');
    try {
      const { bytesRead } = await file.read(bytes, 0, source.size, source.at);
      if (bytesRead !== source.size) throw new UserError(`${where}: the archive ends inside the frame (the archive is truncated)`);
    } finally {
      await file.close();
    }
    if (createHash('sha256').update(bytes).digest('hex') !== source.frameSha256) {
      throw new UserError(`${where}: its bytes do not match the sha256 the index gives (the archive is corrupt)`);
    }
    const content = await this.decompressedDigest(bytes, expected.raw);
    if (content.raw !== expected.raw || content.sha256 !== expected.sha256) {
      throw new UserError(`${where}: does not decompress to the bytes the index names (the archive's index is wrong)`);
    }
    return bytes;
  }

  /** sha256 and length of what `zstd -d` makes of `frame`, reading at most `limit` + 1 bytes of it. */
  private async decompressedDigest(frame: Buffer, limit: number): Promise<{ sha256: string; raw: number }> {
    const framePath = path.join(this.scratchDir, `reused-${this.frameCount++}.zst`);
    await writeFile(framePath, frame);
    try {
      const run = this.runner.stream('zstd', ['-q', '-d', '-c', framePath], { artifact: 'sparse-tar' });
      const hash = createHash('sha256');
      let raw = 0;
      for await (const chunk of run.stdout) {
        raw += (chunk as Buffer).length;
        // A frame that expands past the window cannot be the one wanted: stop before it fills memory or disk.
        if (raw > limit) {
          run.stop();
          break;
        }
        hash.update(chunk as Buffer);
      }
      const failed = await run.done.then(
        () => false,
        () => true,
      );
      return failed ? { sha256: '', raw: -1 } : { sha256: hash.digest('hex'), raw };
    } finally {
      await rm(framePath, { force: true });
    }
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
