/**
 * components/upgrade/verity-check/verity_check.c built for this machine with gcc, with the copts of
 * its BUILD.bazel (the images get Bazel's static build of the same file), for the tests that run
 * it or manageboot.sh here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../tools/src/lib/repo-root.ts';
import { tool } from './tools.ts';

const PACKAGE = path.join(REPO_ROOT, 'components/upgrade/verity-check');
export const VERITY_CHECK_SOURCE = path.join(PACKAGE, 'verity_check.c');

/** The `copts` list of the cc_binary in BUILD.bazel. */
function buildCopts(): string[] {
  const list = /copts = \[([^\]]*)\]/.exec(readFileSync(path.join(PACKAGE, 'BUILD.bazel'), 'utf8'));
  if (!list) throw new Error(`${PACKAGE}/BUILD.bazel: no copts list`);
  return [...list[1]!.matchAll(/"([^"]+)"/g)].map((match) => match[1]!);
}

/** Compiles verity_check to `out` with Bazel's copts and warnings as errors, and returns `out`. */
export function compileVerityCheck(out: string): string {
  tool('gcc', [...buildCopts(), '-Werror', '-o', out, VERITY_CHECK_SOURCE]);
  return out;
}
