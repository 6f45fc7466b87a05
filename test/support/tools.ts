import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import type { CommandDeps } from '../../tools/src/cli/command.ts';
import { main } from '../../tools/src/cli/main.ts';

/** Runs a host tool and returns its stdout; throws with stderr when it fails. */
export function tool(command: string, args: readonly string[], options: { input?: string } = {}): string {
  return execFileSync(command, args, { encoding: 'utf8', input: options.input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** Runs a host tool (with extra environment) and returns its exit status and output without throwing. */
export function toolStatus(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv } = {},
): { status: number; stdout: string; stderr: string } {
  const env = options.env === undefined ? undefined : { ...process.env, ...options.env };
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, env });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Sorted LVM report rows of one kind (pvs, vgs, lvs) for one (loop) device, sizes in bytes, or
 * the tool's failure. Only this device is scanned; no devices file, no udev, nothing written.
 */
export function lvmReport(command: 'pvs' | 'vgs' | 'lvs', device: string, fields: string): Record<string, string>[] {
  const config = `devices { filter=["a|^${device}$|","r|.*|"] use_devicesfile=0 obtain_device_list_from_udev=0 }`;
  const result = toolStatus(command, ['--config', config, '--readonly', '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', fields], {
    env: { LVM_SUPPRESS_FD_WARNINGS: '1' },
  });
  if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr}`);
  const key = command.slice(0, 2);
  return (JSON.parse(result.stdout).report[0][key] as Record<string, string>[]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** A read-only loop device over `length` bytes of `file` from `offset`; detach it with detachLoop. */
export function attachLoop(file: string, offset = 0, length?: number): string {
  const range = ['--offset', String(offset), ...(length === undefined ? [] : ['--sizelimit', String(length)])];
  return tool('losetup', ['--read-only', '--find', '--show', ...range, file]).trim();
}

export function detachLoop(device: string | undefined): void {
  if (device) toolStatus('losetup', ['--detach', device]);
}

/** sha256 of a file, computed by coreutils' sha256sum (not by our code). */
export function sha256sum(file: string): string {
  return tool('sha256sum', [file]).split(' ')[0]!;
}

/** Whether `length` bytes of `a` at `offsetA` equal those of `b` at `offsetB`, according to cmp(1). */
export function sameBytes(a: string, offsetA: number, b: string, offsetB: number, length: number): boolean {
  return toolStatus('cmp', ['-n', String(length), `--ignore-initial=${offsetA}:${offsetB}`, a, b]).status === 0;
}

/**
 * sameBytes for large sparse images, according to `qemu-img compare`: it asks the file system
 * where data lies and skips holes on both sides, where cmp(1) reads tens of GiB of zeros (minutes
 * of CPU on a 50 GiB disk). A hole on one side equals zeros on the other.
 */
export function sameBytesSparse(a: string, offsetA: number, b: string, offsetB: number, length: number): boolean {
  const view = (file: string, offset: number) => `driver=raw,offset=${offset},size=${length},file.driver=file,file.filename=${file.replaceAll(',', ',,')}`;
  const result = toolStatus('qemu-img', ['compare', '--image-opts', view(a, offsetA), view(b, offsetB)]);
  if (result.status > 1) throw new Error(`qemu-img compare failed (${result.status}): ${result.stderr}`);
  return result.status === 0;
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

/**
 * A temporary directory made now and removed after the enclosing tests (the file's, or the
 * `describe` block's it is called in); `at(name)` is a path inside it.
 */
export function useTempDir(label: string): { dir: string; at(name: string): string } {
  const temp = makeTempDir(label);
  afterAll(temp.remove);
  return { dir: temp.dir, at: (name) => path.join(temp.dir, name) };
}

/** What one in-process `icos` run returned and printed. */
export interface IcosRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Replaces `stream.write` with one that collects the text; returns the restoring function. */
function captureWrites(stream: NodeJS.WriteStream, chunks: string[]): () => void {
  const original = stream.write;
  stream.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof stream.write;
  return () => {
    stream.write = original;
  };
}

/** Runs `icos` in this process through `main` (optionally with fake deps), capturing stdout and stderr. */
export async function icosInProcess(args: readonly string[], deps?: Partial<CommandDeps>): Promise<IcosRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const restoreStdout = captureWrites(process.stdout, stdout);
  const restoreStderr = captureWrites(process.stderr, stderr);
  try {
    const code = await main(args, deps);
    return { code, stdout: stdout.join(''), stderr: stderr.join('') };
  } finally {
    restoreStderr();
    restoreStdout();
  }
}

/** Path of the icos entry point, for tests that run it as a separate process. */
export const ICOS_BIN = path.resolve(import.meta.dirname, '../../bin/icos.mjs');

/**
 * A child process's exit status and output, without blocking the event loop: for steps that can
 * take a minute on a loaded machine (a QEMU run, a large dump), since a vitest worker blocked that
 * long misses its runner's calls ("Timeout calling onTaskUpdate") and fails the whole run.
 */
export async function spawnAsync(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const status = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return { status, stdout, stderr };
}

/** `tool` without blocking the event loop: its stdout; throws with stderr when it fails. */
export async function toolAsync(command: string, args: readonly string[]): Promise<string> {
  const result = await spawnAsync(command, args);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** `runIcos` without blocking the event loop. */
export async function runIcosAsync(args: readonly string[], options: { umask?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const script = `umask ${options.umask ?? '022'} && exec "${process.execPath}" "$0" "$@"`;
  return spawnAsync('sh', ['-c', script, ICOS_BIN, ...args], { env: { ...process.env, ...options.env }, cwd: options.cwd });
}

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
