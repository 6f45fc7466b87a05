import path from 'node:path';
import type { CommandRunner } from '../../definitions.ts';
import { UserError } from '../../errors.ts';
import { quoted } from '../../messages.ts';
import { sortedEntries, stagingPathOf, type RootfsTree, type TreeEntry } from '../../lib/rootfs-tree.ts';

/** 1980-01-01 00:00:00 UTC, the earliest time a FAT directory entry can hold. */
export const FAT_EPOCH = 315532800;
const BATCH = 100;

/** Characters a FAT long name cannot hold (mtools silently drops DEL, so it counts as one). */
const FORBIDDEN = /["*/:<>?\\|\u0000-\u001f\u007f]/;
/** Device names DOS reserves: mtools refuses to create them (`con.txt` and `lpt9` it accepts). */
const RESERVED = /^(con|prn|aux|nul|com[1-9]|lpt[1-9])$/i;
/** Long names are at most 255 UTF-16 code units. */
const MAX_FAT_NAME_UNITS = 255;

/** Why FAT (through mtools) cannot hold `name` as given, or undefined when it can. */
export function fatNameProblem(name: string): string | undefined {
  if (FORBIDDEN.test(name)) return 'FAT names cannot hold control characters or any of "*/:<>?\\|';
  if (name.endsWith('.') || name.endsWith(' ')) return 'FAT names cannot end in a dot or a space';
  if (RESERVED.test(name)) return `"${name}" is a reserved DOS device name`;
  // mtools writes characters outside the Basic Multilingual Plane as nothing at all.
  if (/[\u{10000}-\u{10ffff}]/u.test(name)) return 'FAT names (as mtools writes them) cannot hold characters outside the Basic Multilingual Plane, such as emoji';
  if (name.length > MAX_FAT_NAME_UNITS) return `FAT names are at most ${MAX_FAT_NAME_UNITS} UTF-16 code units, this one has ${name.length}`;
  return undefined;
}

/**
 * Checks every name before mtools sees it: FAT is case-insensitive and forbids some characters,
 * and mtools would otherwise rename, drop characters or prompt.
 */
export function checkFatNames(tree: RootfsTree, artifact: string): void {
  const seen = new Map<string, string>();
  for (const entry of sortedEntries(tree)) {
    if (entry.path === '/') continue;
    const problem = fatNameProblem(path.posix.basename(entry.path));
    if (problem !== undefined) throw new UserError(`${artifact}: entry ${quoted(entry.path)}: name not allowed on FAT: ${problem}`);
    const folded = entry.path.toUpperCase();
    const other = seen.get(folded);
    if (other !== undefined) {
      throw new UserError(`${artifact}: entries "${other}" and "${entry.path}" differ only in case, which FAT cannot hold`);
    }
    seen.set(folded, entry.path);
  }
}

export interface MtoolsRun {
  runner: CommandRunner;
  imagePath: string;
  artifact: string;
  epoch: number;
}

/**
 * The environment for every mtools call: no user config, no sanity-check refusals, long names
 * always, and times from SOURCE_DATE_EPOCH (mtools reads it) clamped to FAT's first second.
 */
export function mtoolsEnv(epoch: number): Record<string, string> {
  return {
    MTOOLSRC: '/dev/null',
    MTOOLS_SKIP_CHECK: '1',
    MTOOLS_NO_VFAT: '0',
    MTOOLS_LOWER_CASE: '0',
    MTOOLS_NAME_NUMERIC_TAIL: '1',
    SOURCE_DATE_EPOCH: String(Math.max(epoch, FAT_EPOCH)),
  };
}

async function mtool(run: MtoolsRun, tool: string, args: readonly string[]): Promise<void> {
  // Closed stdin: if mtools ever asks about a name clash it fails instead of waiting.
  await run.runner.run(tool, ['-i', run.imagePath, ...args], { env: mtoolsEnv(run.epoch), artifact: run.artifact, input: '' });
}

/** Sets the volume label (directory entry and boot sector) with a SOURCE_DATE_EPOCH timestamp. */
export async function setLabel(run: MtoolsRun, label: string): Promise<void> {
  await mtool(run, 'mlabel', [`::${label}`]);
}

/** Creates the directories, then copies the files directory by directory, all in sorted order. */
export async function copyTree(run: MtoolsRun, tree: RootfsTree): Promise<void> {
  const entries = sortedEntries(tree).filter((e) => e.path !== '/');
  const directories = entries.filter((e) => e.type === 'directory').map((e) => `::${e.path}`);
  for (let i = 0; i < directories.length; i += BATCH) await mtool(run, 'mmd', directories.slice(i, i + BATCH));
  const filesByDir = new Map<string, TreeEntry[]>();
  for (const entry of entries.filter((e) => e.type !== 'directory')) {
    const dir = path.posix.dirname(entry.path);
    filesByDir.set(dir, [...(filesByDir.get(dir) ?? []), entry]);
  }
  for (const [dir, files] of filesByDir) {
    for (let i = 0; i < files.length; i += BATCH) {
      const sources = files.slice(i, i + BATCH).map((f) => stagingPathOf(tree, f.path));
      await mtool(run, 'mcopy', ['-Q', ...sources, dir === '/' ? '::/' : `::${dir}/`]);
    }
  }
}
