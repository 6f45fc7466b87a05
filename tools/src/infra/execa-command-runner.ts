import { type ChildProcess, spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { ExecaError } from 'execa';
import type { CommandRunner, InteractiveOptions, Logger, RunOptions, RunResult, StreamingRun } from '../definitions.ts';
import { UserError } from '../errors.ts';
import { onExitOrSignal } from '../lib/atomic-output.ts';
import { sourceDateEpoch } from '../lib/reproducible.ts';

/** Debian packages that provide the tools icos calls, for "not found" hints. */
const PACKAGE_OF_TOOL: Record<string, string> = {
  sfdisk: 'fdisk',
  sgdisk: 'gdisk',
  mke2fs: 'e2fsprogs',
  debugfs: 'e2fsprogs',
  e2fsck: 'e2fsprogs',
  'mkfs.fat': 'dosfstools',
  'fsck.fat': 'dosfstools',
  mcopy: 'mtools',
  mmd: 'mtools',
  mdir: 'mtools',
  veritysetup: 'cryptsetup-bin',
  zstd: 'zstd',
  tar: 'tar',
  mmdebstrap: 'mmdebstrap',
  faketime: 'faketime',
  'qemu-system-x86_64': 'qemu-system-x86',
};

const STDERR_LINES_SHOWN = 20;
/** Signals that stop an interactive child before icos acts on them; how long it gets to exit. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const STOP_GRACE_MS = 10_000;

/**
 * Tools started by `run` and `stream` that have not ended. When icos exits or is stopped by a
 * signal they are killed with SIGKILL, synchronously, before the process goes: a tool must not
 * outlive icos (and go on writing into a partial file that is being removed).
 */
const liveChildren = new Set<Pick<ChildProcess, 'kill'>>();
let stopTracking: (() => void) | undefined;

function killLiveChildren(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  liveChildren.clear();
}

function track(child: Pick<ChildProcess, 'kill'>): () => void {
  liveChildren.add(child);
  stopTracking ??= onExitOrSignal(killLiveChildren);
  return () => {
    liveChildren.delete(child);
    if (liveChildren.size === 0 && stopTracking !== undefined) {
      stopTracking();
      stopTracking = undefined;
    }
  };
}

/** Quotes an argument the way a user would type it into a shell. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * The one subprocess wrapper: a minimal, fixed environment (so host locale, time zone and
 * stray variables cannot change outputs), `+ cmd` echo when verbose, and failures turned into
 * messages that show the command, its exit code and the end of its stderr.
 */
export class ExecaCommandRunner implements CommandRunner {
  constructor(private readonly log?: Logger) {}

  private environment(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TZ: 'UTC',
      SOURCE_DATE_EPOCH: String(sourceDateEpoch()),
      ...(process.env.TMPDIR === undefined ? {} : { TMPDIR: process.env.TMPDIR }),
      ...extra,
    };
  }

  stream(tool: string, args: readonly string[], options: Pick<RunOptions, 'artifact'> = {}): StreamingRun {
    const commandLine = [tool, ...args].map(shellQuote).join(' ');
    this.log?.verbose(`+ ${commandLine}`);
    const prefix = options.artifact === undefined ? '' : `${options.artifact}: `;
    let stopped = false;
    let stderr = '';
    // node:child_process rather than execa: the output is consumed as a stream, never buffered.
    const child = spawn(tool, args, { env: this.environment(), stdio: ['ignore', 'pipe', 'pipe'] });
    const untrack = track(child);
    child.on('exit', untrack);
    child.on('error', untrack);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-8192);
    });
    const done = new Promise<void>((resolve, reject) => {
      child.on('error', (error: NodeJS.ErrnoException) => {
        const pkg = PACKAGE_OF_TOOL[tool];
        reject(
          error.code === 'ENOENT'
            ? new UserError(`${prefix}${tool} not found in PATH`, pkg === undefined ? undefined : `install it with: apt-get install ${pkg}`)
            : new UserError(`${prefix}${tool} could not be run: ${error.message}`),
        );
      });
      child.on('close', (code, signal) => {
        if (stopped || code === 0) return resolve();
        const tail = stderr.trimEnd().split('\n').slice(-STDERR_LINES_SHOWN).join('\n');
        reject(new UserError(`${prefix}${tool} failed with ${code === null ? `signal ${signal}` : `exit code ${code}`}: ${commandLine}${tail ? `\n${tail}` : ''}`));
      });
    });
    const stop = () => {
      stopped = true;
      // Unread output would keep the pipe, and so 'close', pending forever.
      child.stdout.destroy();
      child.kill('SIGTERM');
    };
    return { stdout: child.stdout, done, stop };
  }

  async run(tool: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const commandLine = [tool, ...args].map(shellQuote).join(' ');
    this.log?.verbose(`+ ${commandLine}`);
    const env = this.environment(options.env);
    const prefix = options.artifact === undefined ? '' : `${options.artifact}: `;
    try {
      // Loaded on first use: commands that run no tool (validate, pack of plain files) skip it.
      const { execa } = await import('execa');
      const subprocess = execa(tool, args, {
        env,
        extendEnv: false,
        cwd: options.cwd,
        input: options.input,
        stripFinalNewline: false,
        reject: false,
        encoding: 'utf8',
      });
      const untrack = track(subprocess);
      const result = await subprocess.finally(untrack);
      if (result.failed && result.exitCode === undefined) throw result;
      const exitCode = result.exitCode ?? 0;
      if (exitCode !== 0 && !(options.okExitCodes ?? []).includes(exitCode)) {
        const tail = result.stderr.trimEnd().split('\n').slice(-STDERR_LINES_SHOWN).join('\n');
        throw new UserError(
          `${prefix}${tool} failed with exit code ${exitCode}: ${commandLine}${tail ? `\n${tail}` : ''}`,
        );
      }
      return { stdout: result.stdout, stderr: result.stderr, exitCode };
    } catch (error) {
      if (error instanceof UserError) throw error;
      const code = (error as ExecaError & { code?: string }).code;
      if (code === 'ENOENT') {
        const pkg = PACKAGE_OF_TOOL[tool];
        throw new UserError(
          `${prefix}${tool} not found in PATH`,
          pkg === undefined ? undefined : `install it with: apt-get install ${pkg}`,
        );
      }
      const reason = error instanceof Error ? (error as ExecaError).shortMessage ?? error.message : String(error);
      throw new UserError(`${prefix}${tool} could not be run: ${reason}`);
    }
  }

  interactive(tool: string, args: readonly string[], options: InteractiveOptions = {}): Promise<number> {
    this.log?.verbose(`+ ${[tool, ...args].map(shellQuote).join(' ')}`);
    // node:child_process rather than execa: the child owns the terminal, nothing is captured.
    const child = spawn(tool, args, { env: this.environment(options.env), stdio: 'inherit' });
    const stopChild = () => {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS).unref();
    };
    let interrupted: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (interrupted !== undefined) return void child.kill('SIGKILL');
      interrupted = signal;
      this.log?.info(`icos: ${signal}: stopping ${tool}`);
      stopChild();
    };
    // While the child runs, its signal handler is the only one: the others (scratch removal,
    // exit) would let it outlive icos. They are back, and the caller cleans up, once it is gone.
    const held = new Map<NodeJS.Signals, ((...args: unknown[]) => void)[]>();
    for (const name of STOP_SIGNALS) {
      held.set(name, process.listeners(name) as ((...args: unknown[]) => void)[]);
      process.removeAllListeners(name);
      process.on(name, onSignal);
    }
    options.signal?.addEventListener('abort', stopChild, { once: true });
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const name of STOP_SIGNALS) process.removeListener(name, onSignal);
      for (const [name, listeners] of held) for (const listener of listeners) process.on(name, listener);
      options.signal?.removeEventListener('abort', stopChild);
    };
    return new Promise((resolve, reject) => {
      child.on('error', (error: NodeJS.ErrnoException) => {
        release();
        const pkg = PACKAGE_OF_TOOL[tool];
        reject(
          error.code === 'ENOENT'
            ? new UserError(`${tool} not found in PATH`, pkg === undefined ? undefined : `install it with: apt-get install ${pkg}`)
            : new UserError(`${tool} could not be run: ${error.message}`),
        );
      });
      child.on('exit', (code, signal) => {
        release();
        const ended = interrupted ?? signal;
        resolve(ended === null ? (code ?? 1) : 128 + osConstants.signals[ended]);
      });
    });
  }
}
