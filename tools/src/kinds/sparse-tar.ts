import { open } from 'node:fs/promises';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { quoted } from '../messages.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { statRegularFile } from '../lib/input-file.ts';
import { sourceDateEpoch } from '../lib/reproducible.ts';
import type { ArtifactKind, BuildDeps } from './kind.ts';
import { MAX_NAME_BYTES } from './sparse-tar/header.ts';
import { FRAME_WINDOW, frameCodec, FramedZstdWriter } from './sparse-tar/frames.ts';
import { writeSparseTar, writeSparseTarTo, type TarMember } from './sparse-tar/writer.ts';

/**
 * `sparse-tar`: a deterministic tar (old GNU format) of image files, holes stored as GNU sparse
 * members, optionally zstd-compressed as independent frames with an index (`sparse-tar/frames.ts`):
 * what IC-OS ships as `disk-img.tar.zst` and inside `update-img.tar.zst` (dflate's job upstream).
 * Members keep the given order and bare names.
 */

const KIND = 'sparse-tar';

/**
 * zstd settings of each frame (see `sparse-tar/frames.ts`). Release archives use IC-OS's level 8
 * with long-distance matching (PR dfinity/ic#11541: `-8 --long=27`), its window cut to the frame
 * (16 MiB, `--long=24`): on the GuestOS dev disk that is 5.6% larger than one `--long=27` stream,
 * where level 8 without `--long` in the same frames is 14% larger. `zstd-fast` (level 1) is for
 * engineers' builds (`--config=fast`), where compression time matters more than size.
 */
export const ZSTD_LEVEL_ARGS = ['-8', `--long=${Math.log2(FRAME_WINDOW)}`] as const;
export const ZSTD_FAST_LEVEL_ARGS = ['-1'] as const;

const COMPRESSIONS = ['zstd', 'zstd-fast', 'none'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

const EXTENSIONS: ReadonlyArray<[suffix: string, compression: Compression]> = [
  ['.tar.zst', 'zstd'],
  ['.tzst', 'zstd'],
  ['.tar', 'none'],
];

/** The compression an output name asks for: `.tar.zst`/`.tzst` zstd, `.tar` none, anything else an error. */
export function compressionForPath(outPath: string): Compression {
  const match = EXTENSIONS.find(([suffix]) => outPath.endsWith(suffix));
  if (match === undefined) {
    throw new UserError(`${KIND}: output "${outPath}": unknown extension: expected a name ending in .tar.zst, .tzst or .tar`);
  }
  return match[1];
}

const options = z.object({
  /**
   * Archive members in archive order: bare name in the archive, the file to read, and optionally
   * the offsets where framing windows restart (partition starts of a disk; default [0]).
   */
  members: z
    .array(z.object({ name: z.string(), path: z.string().min(1), origins: z.array(z.number().int().nonnegative()).optional() }))
    .min(1),
  /** `zstd` frames at ZSTD_LEVEL_ARGS, `zstd-fast` at ZSTD_FAST_LEVEL_ARGS; `none` writes the plain tar. */
  compression: z.enum(COMPRESSIONS).default('zstd'),
}).strict();

export type SparseTarOptions = z.infer<typeof options>;

/** A validated archive: members whose files exist, and the fixed mtime they all get. */
export interface SparseTarPlan {
  members: TarMember[];
  compression: Compression;
  mtime: number;
}

/** Why `name` cannot be a bare member name, or undefined when it can. */
function nameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.includes('/')) return 'must be a bare file name, without "/"';
  if (name === '.' || name === '..') return 'must be a file name, not "." or ".."';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'must not contain control characters';
  // Node turns command-line bytes that are not UTF-8 into U+FFFD: the member would get another name.
  if (name.includes('\uFFFD')) return 'holds U+FFFD, the mark of bytes that are not UTF-8: member names must be UTF-8';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `is longer than the ${MAX_NAME_BYTES} bytes a tar header holds`;
  return undefined;
}

/** The member's file must be a regular file: a FIFO or device would block or never end. */
async function checkMemberFile(member: TarMember): Promise<void> {
  await statRegularFile(member.path, `${KIND}: member ${quoted(member.name)}: file "${member.path}"`);
}

/** Checks names (bare, unique, short enough) and that every file exists; reads metadata only. */
async function plan(opts: SparseTarOptions): Promise<SparseTarPlan> {
  const firstIndex = new Map<string, number>();
  opts.members.forEach(({ name }, index) => {
    const problem = nameProblem(name);
    if (problem !== undefined) throw new UserError(`${KIND}: member name ${quoted(name)}: ${problem}`);
    const earlier = firstIndex.get(name);
    if (earlier !== undefined) {
      throw new UserError(`${KIND}: member name "${name}": given twice (members ${earlier + 1} and ${index + 1})`);
    }
    firstIndex.set(name, index);
  });
  const members = opts.members.map(({ name, path, origins }) => ({ name, path, ...(origins === undefined ? {} : { origins }) }));
  for (const member of members) await checkMemberFile(member);
  return { members, compression: opts.compression, mtime: sourceDateEpoch() };
}

/**
 * Writes the plain tar, or the framed zstd archive. Frames whose bytes an input archive already
 * holds (`deps.frames`) are copied from it instead of compressed; the output is the same either way.
 */
async function build(archive: SparseTarPlan, outPath: string, deps: BuildDeps): Promise<void> {
  const settings = { mtime: archive.mtime };
  if (archive.compression === 'none') {
    await writeSparseTar(archive.members, outPath, settings);
    return;
  }
  const codec = await frameCodec(archive.compression === 'zstd-fast' ? ZSTD_FAST_LEVEL_ARGS : ZSTD_LEVEL_ARGS, deps.runner);
  // The runner takes bytes on stdin but returns text, so each frame comes back through a scratch file.
  await withScratchDir(KIND, async (dir) => {
    const out = await open(outPath, 'w');
    try {
      const writer = new FramedZstdWriter(out, codec, dir, deps.runner, deps.frames);
      await writeSparseTarTo(writer, archive.members, settings);
      await writer.finish();
      const { compressed, reused } = writer.stats;
      deps.log.verbose(`${KIND}: ${compressed} data frames compressed, ${reused} copied from input archives`);
    } finally {
      await out.close();
    }
  });
}

/** The `sparse-tar` kind (see the module comment). */
export const sparseTarKind: ArtifactKind<SparseTarOptions, SparseTarPlan> = { name: KIND, options, plan, build };
