import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Runs a host tool and returns its stdout; throws with stderr when it fails. */
export function tool(command: string, args: readonly string[], options: { input?: string } = {}): string {
  return execFileSync(command, args, { encoding: 'utf8', input: options.input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** Runs a host tool and returns its exit status and output without throwing. */
export function toolStatus(command: string, args: readonly string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** sha256 of a file, computed by coreutils' sha256sum (not by our code). */
export function sha256sum(file: string): string {
  return tool('sha256sum', [file]).split(' ')[0]!;
}

/** Whether `length` bytes of `a` at `offsetA` equal those of `b` at `offsetB`, according to cmp(1). */
export function sameBytes(a: string, offsetA: number, b: string, offsetB: number, length: number): boolean {
  return toolStatus('cmp', ['-n', String(length), `--ignore-initial=${offsetA}:${offsetB}`, a, b]).status === 0;
}

/** Blocks actually allocated to a file, in bytes (stat %b x %B). */
export function allocatedBytes(file: string): number {
  const [blocks, unit] = tool('stat', ['-c', '%b %B', file]).trim().split(' ').map(Number);
  return blocks! * unit!;
}

/** A temporary directory for one test file, removed by the returned function. */
export function makeTempDir(label: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), `icos-test-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Path of the icos entry point, for tests that run it as a separate process. */
export const ICOS_BIN = path.resolve(import.meta.dirname, '../../bin/icos.mjs');

/** Runs `icos` as a child process with a umask and extra environment. */
export function runIcos(args: readonly string[], options: { umask?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const script = `umask ${options.umask ?? '022'} && exec node "$0" "$@"`;
  const result = spawnSync('sh', ['-c', script, ICOS_BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
