import { readlinkSync, rmSync, type Stats } from 'node:fs';
import { lstat, mkdtemp, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UsageError } from '../cli/command.ts';
import { UserError } from '../errors.ts';
import { MESSAGES, systemReason } from '../messages.ts';
import { describeFileType } from './input-file.ts';

/**
 * Outputs are written beside their final path and renamed into place only when complete, so a
 * failed, interrupted or killed build never leaves a partial file where a good one is expected.
 * Every temporary path is registered here and removed on failure, exit, SIGINT and SIGTERM; what
 * a SIGKILL leaves behind carries the dead run's PID and is removed by the next run.
 */
const pendingPaths = new Set<string>();
/** Run just before icos exits on a signal or at exit (the subprocess wrapper kills its children). */
const exitHooks = new Set<() => void>();
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

function runExitHooks(): void {
  for (const hook of exitHooks) {
    try {
      hook();
    } catch {
      // Best effort while exiting.
    }
  }
}

const EXIT_CODE_OF_SIGNAL = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

function onSignal(signal: keyof typeof EXIT_CODE_OF_SIGNAL): void {
  // Children first: a tool still writing into a partial file would race its removal.
  runExitHooks();
  removeAllPendingSync();
  process.stderr.write(`icos: interrupted by ${signal}: partial outputs removed\n`);
  process.exit(EXIT_CODE_OF_SIGNAL[signal]);
}

function onExit(): void {
  runExitHooks();
  removeAllPendingSync();
}

let handlersActive = false;

/** Handlers are installed only while something is pending, so idle embedders keep their own. */
function updateHandlers(): void {
  const wanted = pendingPaths.size > 0 || exitHooks.size > 0;
  if (wanted === handlersActive) return;
  handlersActive = wanted;
  const method = wanted ? 'on' : 'off';
  process[method]('exit', onExit);
  for (const signal of Object.keys(EXIT_CODE_OF_SIGNAL) as Array<keyof typeof EXIT_CODE_OF_SIGNAL>) {
    process[method](signal, onSignal);
  }
}

/**
 * Registers a synchronous hook run when icos exits or is interrupted, before partial outputs are
 * removed (used to kill child tools). Returns the function that unregisters it.
 */
export function onExitOrSignal(hook: () => void): () => void {
  exitHooks.add(hook);
  updateHandlers();
  return () => {
    exitHooks.delete(hook);
    updateHandlers();
  };
}

function register(pending: string): void {
  pendingPaths.add(pending);
  updateHandlers();
}

async function release(pending: string, remove: boolean): Promise<void> {
  pendingPaths.delete(pending);
  updateHandlers();
  if (remove) await rm(pending, { recursive: true, force: true });
}

/** True unless the process is known to be gone (EPERM: alive, but someone else's). */
function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes the entries of `dir` that `pidOf` recognises (returns their owner's PID) and whose owner
 * is dead: leftovers of runs killed with SIGKILL. Errors are ignored: it is housekeeping.
 */
async function reapDeadRuns(dir: string, pidOf: (name: string) => number | undefined): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = pidOf(name);
    if (pid === undefined || isAlive(pid)) continue;
    await rm(path.join(dir, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The temporary sibling of `outPath` (same directory, so the final rename is atomic). */
function siblingTempPath(outPath: string): string {
  counter += 1;
  return path.join(path.dirname(outPath), `.${path.basename(outPath)}.partial-${process.pid}-${counter}`);
}

function partialPidOf(outPath: string): (name: string) => number | undefined {
  const pattern = new RegExp(`^\\.${escapeRegExp(path.basename(outPath))}\\.partial-(\\d+)-\\d+$`);
  return (name) => {
    const match = pattern.exec(name);
    return match === null ? undefined : Number(match[1]);
  };
}

/**
 * The id of this process's PID namespace (the inode of /proc/self/ns/pid), or undefined where it
 * cannot be read. A PID means something only within its namespace: Bazel's sandboxed actions
 * each have their own and share TMPDIR, so a scratch directory is reaped only by a run of the
 * same namespace (a PID that is free here may be a live action elsewhere).
 */
const PID_NAMESPACE: string | undefined = (() => {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
  } catch {
    return undefined;
  }
})();

/**
 * Scratch directories are `icos-LABEL.pidPID.NAMESPACE-XXXXXX` (mkdtemp's six characters): the
 * `.pid` mark keeps other `icos-...-N-XXXXXX` directories (test fixtures) from being taken for
 * scratch, and only those of this PID namespace are considered.
 */
function scratchPidOf(name: string): number | undefined {
  const match = /^icos-.+\.pid(\d+)\.(\d+)-[A-Za-z0-9]{6}$/.exec(name);
  return match === null || PID_NAMESPACE === undefined || match[2] !== PID_NAMESPACE ? undefined : Number(match[1]);
}

/**
 * Refuses an output path that renaming would destroy or that is not a file at all: `/dev/null`
 * replaced by a regular file, a directory, a FIFO, a symbolic link to a device. A missing path, a
 * regular file or a link to one is fine (the link itself is replaced).
 */
export async function checkReplaceable(outPath: string, where = `output "${outPath}"`): Promise<void> {
  if (outPath === '' || path.basename(outPath) === '') throw new UsageError(`${where}: expected a file path`);
  let info: Stats;
  try {
    info = await lstat(outPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new UserError(MESSAGES.cannotWrite(where, error));
    const parent = await stat(path.dirname(outPath)).catch((parentError: unknown) => {
      throw new UserError(`${where}: its directory cannot be used: ${systemReason(parentError)}`);
    });
    if (!parent.isDirectory()) throw new UserError(`${where}: its parent "${path.dirname(outPath)}" is not a directory`);
    return;
  }
  if (info.isFile()) return;
  if (info.isSymbolicLink()) {
    const target = await stat(outPath).catch(() => undefined);
    if (target === undefined || target.isFile()) return; // dangling, or a link to a file
    throw new UserError(MESSAGES.outputNotReplaceable(where, `a symbolic link to ${describeFileType(target)}`));
  }
  throw new UserError(MESSAGES.outputNotReplaceable(where, describeFileType(info)));
}

/** A space failure already pinned on a file system (TMPDIR): outer layers keep it as it is. */
class SpaceError extends UserError {}

const SPACE_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);
/** Words with which tools and the kinds' own messages report a full disk or a too-large file. */
const SPACE_WORDS = /no space|disk full|quota|file too large|does not fit|could not allocate/i;
/** A file system with less than this free is taken as the one that filled up. */
const FULL_BELOW_BYTES = 1024 * 1024;

/** Bytes this process could still write on the file system holding `dir` (root may use the reserve). */
async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const info = await statfs(dir);
    return (process.getuid?.() === 0 ? info.bfree : info.bavail) * info.bsize;
  } catch {
    return undefined;
  }
}

function spaceCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && SPACE_CODES.has(code) ? code : undefined;
}

function looksLikeSpace(error: unknown): boolean {
  if (spaceCode(error) !== undefined) return true;
  if (!(error instanceof Error)) return false;
  return SPACE_WORDS.test(`${error.message}\n${(error as UserError).hint ?? ''}`);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** One output of a build: its final path and how messages name it. */
interface Output {
  path: string;
  where: string;
  tempPath: string;
}

/**
 * Turns a build failure into one that names the output, not its temporary sibling: system errors
 * that carry the temporary path, and a full (or too small) file system under the output, which
 * kinds would otherwise blame on --size. Runs while the partial files still take their space.
 */
async function explainOutputFailure(error: unknown, outputs: readonly Output[]): Promise<unknown> {
  if (error instanceof SpaceError) return error;
  const code = spaceCode(error);
  const systemError = error as NodeJS.ErrnoException;
  const owner = outputs.find((output) => typeof systemError?.path === 'string' && systemError.path.startsWith(output.tempPath));
  if (code === 'EFBIG') {
    return new UserError(MESSAGES.cannotWrite((owner ?? outputs[0]!).where, error), 'the file system holding it does not take files this large');
  }
  if (looksLikeSpace(error)) {
    for (const output of owner === undefined ? outputs : [owner]) {
      const free = await freeBytes(path.dirname(output.path));
      if (free !== undefined && free < FULL_BELOW_BYTES) {
        // The build's own words are left out: on a full file system a tool's failure reads as a
        // size problem of the image ("does not fit in --size"), which is the wrong cause.
        return new UserError(MESSAGES.cannotWrite(output.where, { code: code ?? 'ENOSPC' }), 'free space there and run again');
      }
    }
    // A system error without a path (a write to an open file) is the output's: scratch space
    // failures were already named by withScratchDir.
    if (code !== undefined) return new UserError(MESSAGES.cannotWrite((owner ?? outputs[0]!).where, error), 'free space there and run again');
  }
  if (owner !== undefined) {
    systemError.path = owner.path + systemError.path!.slice(owner.tempPath.length);
    systemError.message = systemError.message.replaceAll(owner.tempPath, owner.path);
  }
  return error;
}

/**
 * Builds several outputs that belong together (an image and its root hash) beside their final
 * paths, then renames them into place in order. If the build or a rename fails, every partial
 * file and every output already renamed is removed: all are new, or none is left.
 */
export async function writeAtomicallyTogether<T>(
  outputs: ReadonlyArray<{ path: string; where?: string }>,
  build: (tempPaths: string[]) => Promise<T>,
): Promise<T> {
  const planned: Output[] = [];
  for (const { path: outPath, where = `output "${outPath}"` } of outputs) {
    await checkReplaceable(outPath, where);
    await reapDeadRuns(path.dirname(outPath), partialPidOf(outPath));
    planned.push({ path: outPath, where, tempPath: siblingTempPath(outPath) });
  }
  for (const output of planned) register(output.tempPath);
  const renamed: string[] = [];
  try {
    const result = await build(planned.map((output) => output.tempPath));
    for (const output of planned) {
      await rename(output.tempPath, output.path).catch((error: unknown) => {
        throw new UserError(MESSAGES.cannotWrite(output.where, error));
      });
      renamed.push(output.path);
    }
    for (const output of planned) await release(output.tempPath, false);
    return result;
  } catch (error) {
    const explained = await explainOutputFailure(error, planned);
    for (const outPath of renamed) await rm(outPath, { force: true });
    for (const output of planned) await release(output.tempPath, true);
    throw explained;
  }
}

/**
 * Runs `build` with a temporary path beside `outPath` and renames the result into place when it
 * succeeds. On failure the temporary file is deleted and an existing `outPath` stays untouched.
 * Only a regular file (or nothing) at `outPath` is replaced; `where` names it in messages.
 */
export function writeAtomically<T>(
  outPath: string,
  build: (tempPath: string) => Promise<T>,
  where = `output "${outPath}"`,
): Promise<T> {
  return writeAtomicallyTogether([{ path: outPath, where }], ([tempPath]) => build(tempPath!));
}

/**
 * Runs `work` in a fresh scratch directory under TMPDIR that is always removed afterwards. Its
 * name carries this process's PID and PID namespace, so a run killed with SIGKILL has its scratch
 * removed by the next one in the same namespace; a full TMPDIR is reported as such, not as a fault of the input being unpacked.
 */
export async function withScratchDir<T>(label: string, work: (dir: string) => Promise<T>): Promise<T> {
  const base = tmpdir();
  await reapDeadRuns(base, scratchPidOf);
  let dir: string;
  try {
    dir = await mkdtemp(path.join(base, `icos-${label}.pid${process.pid}.${PID_NAMESPACE ?? 0}-`));
  } catch (error) {
    throw new SpaceError(`TMPDIR "${base}": cannot make a scratch directory: ${systemReason(error)}`, 'point TMPDIR at a writable directory with free space');
  }
  register(dir);
  try {
    return await work(dir);
  } catch (error) {
    if (!(error instanceof SpaceError) && looksLikeSpace(error) && spaceCode(error) !== 'EFBIG') {
      // A failed copy removes its partial file, so the space may be free again: a system error
      // on a path in the scratch directory is TMPDIR's too.
      const { path: failedPath, dest } = error as NodeJS.ErrnoException & { dest?: string };
      const inScratch = [failedPath, dest].some((p) => typeof p === 'string' && p.startsWith(`${dir}${path.sep}`));
      const free = await freeBytes(dir);
      if ((inScratch && spaceCode(error) !== undefined) || (free !== undefined && free < FULL_BELOW_BYTES)) {
        throw new SpaceError(
          `TMPDIR "${base}": no space left on device for the scratch files of ${label}`,
          `free space there or point TMPDIR at a larger file system (the build said: ${firstLine(error)})`,
        );
      }
    }
    throw error;
  } finally {
    await release(dir, true);
  }
}
