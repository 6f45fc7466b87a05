/**
 * components/upgrade/verity-check/verity_check.c built for this machine with gcc (the images get
 * Bazel's static build of the same file), for the tests that run it or manageboot.sh here.
 */
import path from 'node:path';
import { REPO_ROOT } from '../../tools/src/lib/repo-root.ts';
import { tool } from './tools.ts';

export const VERITY_CHECK_SOURCE = path.join(REPO_ROOT, 'components/upgrade/verity-check/verity_check.c');

/** Compiles verity_check to `out` with warnings as errors, and returns `out`. */
export function compileVerityCheck(out: string): string {
  tool('gcc', ['-std=c99', '-O2', '-Wall', '-Wextra', '-Werror', '-o', out, VERITY_CHECK_SOURCE]);
  return out;
}
