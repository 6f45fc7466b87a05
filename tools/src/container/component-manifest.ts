import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { type Problem, throwIfProblems, UserError } from '../errors.ts';
import { displayPath, REPO_ROOT } from './base-pins.ts';
import { engineHides } from './rootfs-normalise.ts';

/** One component file: a source under components/ and where it lands in the root filesystem. */
export interface Component {
  /** Absolute path of the source file. */
  source: string;
  /** Install path relative to the root, e.g. `etc/systemd/system/x.service`. */
  target: string;
  executable: boolean;
  /** The bytes to install when they differ from the source's (layout facts rendered). */
  content?: Buffer;
}

const SAFE_PATH = /^[A-Za-z0-9._@+-]+(\/[A-Za-z0-9._@+-]+)*$/;

function hasDotSegment(relative: string): boolean {
  return relative.split('/').some((part) => part === '.' || part === '..');
}

/**
 * Reads `components/<os>.json`: a JSON object mapping a source file (relative to components/)
 * to its absolute install path. All problems are reported together, before any build starts.
 */
export async function readComponentManifest(os: string, root = REPO_ROOT): Promise<Component[]> {
  const file = path.join(root, 'components', `${os}.json`);
  const where = displayPath(file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UserError(`${where}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'component manifest not found' : `not valid JSON: ${(error as Error).message}`}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UserError(`${where}: expected a JSON object mapping "source file" to "/install/path"`);
  }
  const problems: Problem[] = [];
  const components: Component[] = [];
  const targets = new Map<string, string>();
  for (const [source, install] of Object.entries(parsed as Record<string, unknown>)) {
    const problem = (message: string): void => void problems.push({ file: where, column: source, message });
    if (!SAFE_PATH.test(source) || hasDotSegment(source)) {
      problem('source must be a relative path under components/ without "." or ".." parts');
      continue;
    }
    if (typeof install !== 'string' || !install.startsWith('/') || !SAFE_PATH.test(install.slice(1)) || hasDotSegment(install.slice(1))) {
      problem(`install path "${String(install)}": expected an absolute file path without "." or ".." parts`);
      continue;
    }
    const target = install.slice(1);
    if (engineHides(target)) {
      problem(`install path "${install}" belongs to the container engine: no image file there reaches the export (set it at boot)`);
      continue;
    }
    const earlier = targets.get(target);
    if (earlier !== undefined) {
      problem(`install path "${install}" is also the install path of "${earlier}"`);
      continue;
    }
    targets.set(target, source);
    const absolute = path.join(root, 'components', source);
    const info = await stat(absolute).catch(() => undefined);
    if (info === undefined || !info.isFile()) {
      problem(`source file "${displayPath(absolute)}" not found`);
      continue;
    }
    components.push({ source: absolute, target, executable: (info.mode & 0o111) !== 0 });
  }
  throwIfProblems(problems);
  return components.sort((a, b) => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}
