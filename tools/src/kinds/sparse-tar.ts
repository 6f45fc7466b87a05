import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { fromSystemError, UserError } from '../errors.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { sourceDateEpoch } from '../lib/reproducible.ts';
import type { ArtifactKind, BuildDeps } from './kind.ts';
import { MAX_NAME_BYTES } from './sparse-tar/header.ts';
import { writeSparseTar, type TarMember } from './sparse-tar/writer.ts';

/**
 * `sparse-tar`: a deterministic tar (old GNU format) of image files, holes stored as GNU sparse
 * members, optionally zstd-compressed: what IC-OS ships as `disk-img.tar.zst` and inside
 * `update-img.tar.zst` (dflate's job upstream). Members keep the given order and bare names.
 */

const KIND = 'sparse-tar';

/**
 * zstd settings of current IC-OS (`-8 --long=27`, PR dfinity/ic#11541). A 128 MiB window is
 * the largest `zstd -d` accepts without `--long`. `-T0` is safe for reproducibility: zstd's
 * multi-threaded output is the same for any number of worker threads (facebook/zstd#2238), so
 * only the zstd version can change the bytes.
 */
export const ZSTD_ARGS = ['-q', '-T0', '-8', '--long=27'] as const;

/**
 * `zstd-fast`: for partition images that only travel between build steps (Bazel's packed
 * intermediates). Level 1 costs a fraction of level 8 on a 700 MB root image while still
 * shrinking what Bazel hashes and caches; any zstd reads it.
 */
export const ZSTD_FAST_ARGS = ['-q', '-T0', '-1'] as const;

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
  /** Archive members in archive order: bare name in the archive and the file to read. */
  members: z.array(z.object({ name: z.string(), path: z.string().min(1) })).min(1),
  /** `zstd` compresses the tar with ZSTD_ARGS, `zstd-fast` with ZSTD_FAST_ARGS; `none` writes the plain tar. */
  compression: z.enum(COMPRESSIONS).default('zstd'),
});

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
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `is longer than the ${MAX_NAME_BYTES} bytes a tar header holds`;
  return undefined;
}

async function checkMemberFile(member: TarMember): Promise<void> {
  const where = `${KIND}: member "${member.name}": file "${member.path}"`;
  try {
    if (!(await stat(member.path)).isFile()) throw new UserError(`${where}: is not a regular file`);
  } catch (error) {
    if (error instanceof UserError) throw error;
    const systemError = fromSystemError(error);
    if (systemError === undefined) throw error;
    throw new UserError(`${where}: ${systemError.message.replace(/^"[^"]*": /, '')}`);
  }
}

/** Checks names (bare, unique, short enough) and that every file exists; reads metadata only. */
async function plan(opts: SparseTarOptions): Promise<SparseTarPlan> {
  const firstIndex = new Map<string, number>();
  opts.members.forEach(({ name }, index) => {
    const problem = nameProblem(name);
    if (problem !== undefined) throw new UserError(`${KIND}: member name "${name}": ${problem}`);
    const earlier = firstIndex.get(name);
    if (earlier !== undefined) {
      throw new UserError(`${KIND}: member name "${name}": given twice (members ${earlier + 1} and ${index + 1})`);
    }
    firstIndex.set(name, index);
  });
  const members = opts.members.map(({ name, path }) => ({ name, path }));
  for (const member of members) await checkMemberFile(member);
  return { members, compression: opts.compression, mtime: sourceDateEpoch() };
}

/** Writes the tar, or writes it in a scratch directory and compresses it to `outPath`. */
async function build(archive: SparseTarPlan, outPath: string, deps: BuildDeps): Promise<void> {
  const settings = { mtime: archive.mtime };
  if (archive.compression === 'none') {
    await writeSparseTar(archive.members, outPath, settings);
    return;
  }
  // The runner takes no streams, so the tar goes through a scratch file: it holds the data
  // extents plus one or two 512-byte blocks per member, never the holes.
  await withScratchDir(KIND, async (dir) => {
    const tarPath = `${dir}/archive.tar`;
    await writeSparseTar(archive.members, tarPath, settings);
    const args = archive.compression === 'zstd-fast' ? ZSTD_FAST_ARGS : ZSTD_ARGS;
    await deps.runner.run('zstd', [...args, '-o', outPath, tarPath], { artifact: KIND });
  });
}

/** The `sparse-tar` kind (see the module comment). */
export const sparseTarKind: ArtifactKind<SparseTarOptions, SparseTarPlan> = { name: KIND, options, plan, build };
