import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ICOS_BIN, tool } from './tools.ts';
import { vmLaunchCommand } from './vm-slot.ts';

/** Thrown when the console never showed what was awaited; carries the console's tail. */
export class ConsoleTimeout extends Error {}

/** A VM as `icos launch` boots it (its defaults: one vCPU, 2G, MAC 52:54:00:12:34:56). */
export interface VmSpec {
  /** Raw disk, qcow2 (an overlay of one) or disk-img.tar.zst; writes are discarded. */
  disk: string;
  /** Install mode: the disk is a USB stick, this file (created sparse if missing) the disk it installs onto. */
  target?: string;
  /** Size of a target that does not exist yet (icos launch --target-size). */
  targetSize?: string;
  /** Config medium (icos config-image), or config.ini for a disk with a CONFIG partition. */
  configImage?: string;
  mac?: string;
  memory?: string;
  cpus?: number;
  /** Boot under OVMF's Secure Boot firmware with this variable store (launch uses a copy). */
  secureBootVars?: string;
  /** A read-only raw disk with serial "medium" (icos launch --medium). */
  medium?: string;
  /**
   * A guest reboot starts a fresh QEMU on the same disk, its writes kept in an overlay until `kill`
   * (a raw `disk` only); else a reboot ends QEMU. Not QEMU's own reset: under TCG with Secure
   * Boot's SMM, a reset inside the same QEMU once spun for 18 min without a byte of firmware output.
   */
  allowReboot?: boolean;
}

/** `icos launch` flags of a spec; `overlay` (of a rebooting VM) is booted with --persist in place of the disk. */
function launchArgs(spec: VmSpec, overlay: string | undefined): string[] {
  const flags: [string, string | number | undefined][] = [
    ['--disk', overlay ?? spec.disk],
    ['--target', spec.target],
    ['--target-size', spec.targetSize],
    ['--config', spec.configImage],
    ['--mac', spec.mac],
    ['--memory', spec.memory],
    ['--cpus', spec.cpus],
    ['--vars', spec.secureBootVars],
    ['--medium', spec.medium],
  ];
  const secureBoot = spec.secureBootVars === undefined ? [] : ['--secure-boot'];
  const persist = overlay === undefined ? [] : ['--persist'];
  return [...secureBoot, ...persist, ...flags.flatMap(([flag, value]) => (value === undefined ? [] : [flag, String(value)]))];
}

/** How long icos gets to stop QEMU after SIGTERM before its whole process group is killed. */
const STOP_TIMEOUT_MS = 30_000;

/** Whether the kernel's last word on a console was a reset ("reboot: Restarting system"), not "reboot: Power down". */
function endsInReset(console: string): boolean {
  return [...console.matchAll(/reboot: (Restarting system|Power down)/g)].at(-1)?.[1] === 'Restarting system';
}

/**
 * A VM booted by `icos launch` (the launcher people and Bazel use) whose serial console is this
 * process's pipe: stdin is no terminal, so icos gives QEMU plain stdio without the monitor and
 * every byte reaches the guest. Everything it prints is kept (and copied to `logFile`), `expect`
 * waits for a pattern, `send` types. `kill` is safe to call twice.
 */
export class SerialVm {
  private process?: ChildProcess;
  private log?: WriteStream;
  private text = '';
  /** Console text before this offset was already consumed by an `expect`. */
  private cursor = 0;
  private exited = false;
  private stopping = false;
  /** Why an earlier `expect` timed out: a VM that hung once fails every later wait at once. */
  private hung?: string;
  /** The overlay a rebooting VM's writes go to, and its directory (removed by `kill`). */
  private overlayDir?: string;
  private overlay?: string;
  readonly startedAt = Date.now();

  constructor(
    private readonly spec: VmSpec,
    private readonly logFile?: string,
    /** Called once the VM is gone (after `kill`), e.g. to let another test's VM start. */
    private readonly onGone?: () => void,
  ) {}

  start(): void {
    this.log = this.logFile === undefined ? undefined : createWriteStream(this.logFile);
    if (this.spec.allowReboot === true) {
      if (this.spec.target !== undefined) throw new Error('SerialVm: allowReboot boots the disk itself, not an installer with a target');
      this.overlayDir = mkdtempSync(path.join(tmpdir(), 'icos-test-vm-'));
      this.overlay = path.join(this.overlayDir, 'disk.qcow2');
      tool('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', path.resolve(this.spec.disk), this.overlay]);
    }
    this.launch();
  }

  /** Starts one `icos launch`; a guest reset that ends it starts the next on the same overlay. */
  private launch(): void {
    const from = this.text.length;
    // Its own process group: if icos ever fails to stop QEMU, `kill` can still end both.
    const [command, args] = vmLaunchCommand([ICOS_BIN, 'launch', ...launchArgs(this.spec, this.overlay)]);
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.process = child;
    const collect = (piece: string) => {
      this.text += piece;
      this.log?.write(piece);
    };
    child.stdout!.on('data', (chunk: Buffer) => collect(chunk.toString('latin1')));
    child.stderr!.on('data', (chunk: Buffer) => collect(`[launch stderr] ${chunk.toString('latin1')}`));
    // 'close', not 'exit': the console's last bytes are read by then.
    child.on('close', (code, signal) => {
      const reset = code === 0 && endsInReset(this.text.slice(from));
      if (this.overlay !== undefined && reset && !this.stopping) {
        collect(`\n[guest reset ${this.elapsed()} s after the first start: a fresh QEMU boots the same disk]\n`);
        this.launch();
        return;
      }
      this.exited = true;
      collect(`\n[qemu exited: ${signal ?? code}]\n`);
    });
  }

  /** All console output so far. */
  get output(): string {
    return this.text;
  }

  /** Seconds since `start`. */
  elapsed(): number {
    return Math.round((Date.now() - this.startedAt) / 100) / 10;
  }

  /** Waits until the console (after what earlier `expect`s consumed) matches; returns the match. */
  async expect(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.text.slice(this.cursor);
      const match = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(rest);
      if (match !== null) {
        this.cursor += match.index + match[0].length;
        return match;
      }
      if (this.hung !== undefined) throw new ConsoleTimeout(`not waiting for ${pattern}: an earlier wait on this VM failed: ${this.hung}`);
      if (this.exited || Date.now() > deadline) {
        const why = this.exited ? 'QEMU exited' : `${Math.round(timeoutMs / 1000)} s passed`;
        if (!this.exited) this.hung = `${why} without ${pattern}`;
        throw new ConsoleTimeout(`${why} without ${pattern} on the serial console; last output:\n${this.text.slice(-3000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Types text on the serial console. */
  send(text: string): void {
    this.process?.stdin?.write(text);
  }

  /** Runs a shell command on a logged-in console and returns its output (between two markers). */
  async run(command: string, timeoutMs = 120_000): Promise<string> {
    const id = Math.floor(Math.random() * 1e9);
    // The markers are printed by arithmetic, so the echoed command line never matches them.
    this.send(`echo "@@B$((${id}+1))@@"; ${command}; echo "@@E$((${id}+1))@@"\r`);
    await this.expect(new RegExp(`@@B${id + 1}@@\\r?\\n`), timeoutMs);
    const end = await this.expect(new RegExp(`([\\s\\S]*?)@@E${id + 1}@@`), timeoutMs);
    // Units with StandardOutput=journal+console write `[  59.08] unit[pid]: ...` lines to the
    // console at any time: they are not the command's output.
    return end[1]!.replace(/\r/g, '').replace(/^\[\s*\d+\.\d+\] .*\n?/gm, '');
  }

  /**
   * Logs in on the console at the login prompt of `hostname` with `user`/`password` and readies the
   * shell for `run` (no pager, no colours, no kernel messages between command outputs).
   */
  async login(hostname: string, user: string, password: string, timeoutMs: number): Promise<void> {
    await this.expect(new RegExp(`${hostname} login: `), timeoutMs);
    this.send(`${user}\r`);
    await this.expect(/Password: /, timeoutMs);
    this.send(`${password}\r`);
    await this.expect(new RegExp(`${user}@${hostname}:~# `), timeoutMs);
    await this.run('export SYSTEMD_PAGER= SYSTEMD_COLORS=0 PAGER=cat; dmesg -n 1');
  }

  /** Waits for `systemctl is-system-running --wait` and returns `systemctl --failed` (empty: none). */
  async failedUnits(timeoutMs: number): Promise<{ state: string; failed: string }> {
    const state = (await this.run('systemctl is-system-running --wait', timeoutMs)).trim();
    return { state, failed: (await this.run('systemctl --failed --no-legend --plain')).trim() };
  }

  /** Stops the VM: SIGTERM to icos, which stops QEMU and exits once it is gone. */
  async kill(): Promise<void> {
    this.stopping = true;
    const child = this.process;
    if (child !== undefined && !this.exited) {
      const closed = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGTERM');
      const fallback = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // The group is gone already.
        }
      }, STOP_TIMEOUT_MS);
      await closed;
      clearTimeout(fallback);
    }
    if (this.overlayDir !== undefined) rmSync(this.overlayDir, { recursive: true, force: true });
    await new Promise<void>((resolve) => (this.log === undefined ? resolve() : this.log.end(resolve)));
    this.onGone?.();
  }
}
