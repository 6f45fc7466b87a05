import { rmSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Outputs are written beside their final path and renamed into place only when complete, so a
 * failed, interrupted or killed build never leaves a partial file where a good one is expected.
 * Every temporary path is registered here and removed on failure, exit, SIGINT and SIGTERM.
 */
const pendingPaths = new Set<string>();
let counter = 0;

function removeAllPendingSync(): number {
  const count = pendingPaths.size;
  for (const pending of pendingPaths) {
    try {
      rmSync(pending, { recursive: true, force: true });
    } catch {
      // Best effort while exiting: nothing more can be done here.
    }
  }
  pendingPaths.clear();
  return count;
}

const EXIT_CODE_OF_SIGNAL = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

function onSignal(signal: keyof typeof EXIT_CODE_OF_SIGNAL): void {
  removeAllPendingSync();
  process.stderr.write(`icos: interrupted by ${signal}: partial outputs removed\n`);
  process.exit(EXIT_CODE_OF_SIGNAL[signal]);
}

function onExit(): void {
  removeAllPendingSync();
}

/** Handlers are installed only while something is pending, so idle embedders keep their own. */
function setHandlers(active: boolean): void {
  const method = active ? 'on' : 'off';
  process[method]('exit', onExit);
  for (const signal of Object.keys(EXIT_CODE_OF_SIGNAL) as Array<keyof typeof EXIT_CODE_OF_SIGNAL>) {
    process[method](signal, onSignal);
  }
}

function register(pending: string): void {
  if (pendingPaths.size === 0) setHandlers(true);
  pendingPaths.add(pending);
}

async function release(pending: string, remove: boolean): Promise<void> {
  pendingPaths.delete(pending);
  if (pendingPaths.size === 0) setHandlers(false);
  if (remove) await rm(pending, { recursive: true, force: true });
}

/** The temporary sibling of `outPath` (same directory, so the final rename is atomic). */
function siblingTempPath(outPath: string): string {
  counter += 1;
  return path.join(path.dirname(outPath), `.${path.basename(outPath)}.partial-${process.pid}-${counter}`);
}

/**
 * Runs `build` with a temporary path beside `outPath` and renames the result into place when it
 * succeeds. On failure the temporary file is deleted and an existing `outPath` stays untouched.
 */
export async function writeAtomically<T>(outPath: string, build: (tempPath: string) => Promise<T>): Promise<T> {
  const tempPath = siblingTempPath(outPath);
  register(tempPath);
  try {
    const result = await build(tempPath);
    await rename(tempPath, outPath);
    await release(tempPath, false);
    return result;
  } catch (error) {
    await release(tempPath, true);
    throw error;
  }
}

/** Runs `work` in a fresh scratch directory under TMPDIR that is always removed afterwards. */
export async function withScratchDir<T>(label: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), `icos-${label}-`));
  register(dir);
  try {
    return await work(dir);
  } finally {
    await release(dir, true);
  }
}
