import { chmod, copyFile, lstat, mkdir, readlink, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner, Logger } from '../definitions.ts';
import { UserError } from '../errors.ts';
import { MESSAGES, systemReason } from '../messages.ts';
import { modeUnderUmask } from './plan.ts';

/**
 * Untracked folders the build reads that a second machine would make itself: `npm ci`'s packages
 * (the @icos_node repository links them). They are hard-linked (copied where the scratch folder is
 * on another file system): read-only inputs, 85 MB that need not be written again.
 */
export const UNTRACKED_INPUTS = ['node_modules'] as const;

/** An ignored file larger than this is taken for a left-over image, not an input, and not copied. */
const MAX_IGNORED_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Makes `to` what a fresh clone of `from` under `umask` would be, with the working tree's content:
 * every file git tracks (as edited, deleted ones left out), every untracked file, and the ignored
 * files outside ignored folders (local stand-ins a setup step wrote, such as untracked pin
 * overrides), with the modes a checkout under that umask gives them, plus UNTRACKED_INPUTS.
 * Ignored folders (build outputs, packages) and Bazel's `bazel-*` links are left out. Nothing
 * links back into `from` but the hard-linked packages, so the build cannot write into it.
 */
export async function copyCheckout(from: string, to: string, umask: number, { runner, log }: { runner: CommandRunner; log: Logger }): Promise<number> {
  const listed = await runner.run('git', ['-C', from, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    artifact: 'repro-check(checkout copy)',
  });
  // --directory shows a wholly ignored folder as one `name/` entry: those are skipped.
  const ignored = await runner.run('git', ['-C', from, 'ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory'], {
    artifact: 'repro-check(checkout copy)',
  });
  const ignoredFiles: string[] = [];
  for (const name of ignored.stdout.split('\0')) {
    if (name === '' || name.endsWith('/') || /^bazel-[^/]*$/.test(name)) continue;
    const info = await lstat(path.join(from, name)).catch(() => undefined);
    if (info !== undefined && info.size > MAX_IGNORED_FILE_BYTES) log.info(`repro-check: not copied (ignored by git, ${info.size} bytes): ${name}`);
    else ignoredFiles.push(name);
  }
  const files = [...new Set([...listed.stdout.split('\0'), ...ignoredFiles].filter((name) => name !== ''))];
  const madeDirs = new Set<string>();
  const makeDir = async (dir: string): Promise<void> => {
    if (madeDirs.has(dir) || dir === to) return;
    await makeDir(path.dirname(dir));
    await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    await chmod(dir, 0o777 & ~umask);
    madeDirs.add(dir);
  };
  let copied = 0;
  try {
    await mkdir(to, { recursive: true });
    for (const name of files) {
      const source = path.join(from, name);
      const info = await lstat(source).catch(() => undefined);
      // Deleted in the working tree, or a submodule (a folder): not part of what is built here.
      if (info === undefined || info.isDirectory()) continue;
      const target = path.join(to, name);
      await makeDir(path.dirname(target));
      if (info.isSymbolicLink()) {
        await symlink(await readlink(source), target);
      } else {
        await copyFile(source, target);
        await chmod(target, modeUnderUmask((info.mode & 0o111) !== 0, umask));
      }
      copied += 1;
    }
  } catch (error) {
    throw new UserError(MESSAGES.cannotWrite(`repro-check: copy of the checkout "${to}"`, error));
  }
  for (const name of UNTRACKED_INPUTS) {
    const source = path.join(from, name);
    if ((await lstat(source).catch(() => undefined)) === undefined) continue;
    const target = path.join(to, name);
    try {
      await runner.run('cp', ['-al', source, target]);
    } catch {
      // Another file system: hard links cannot cross it.
      await runner.run('rm', ['-rf', target]);
      await runner.run('cp', ['-a', source, target]).catch((error: unknown) => {
        throw new UserError(`repro-check: "${source}" cannot be copied to "${target}": ${systemReason(error)}`);
      });
    }
  }
  return copied;
}
