import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository checkout this toolchain runs from (outputs never depend on the cwd):
 * ICOS_REPO_ROOT when a launcher sets it (bin/icos.mjs does, for the bundle in build/), else three
 * levels above this module (tools/src/lib; also true of Bazel's bundle in bazel-out/<cfg>/bin,
 * which lands on the exec root).
 */
export const REPO_ROOT = process.env.ICOS_REPO_ROOT
  ? path.resolve(process.env.ICOS_REPO_ROOT)
  : fileURLToPath(new URL('../../../', import.meta.url));
