/**
 * Secure Boot for tests: the OVMF variable store with the test keys enrolled (built once per run
 * by Bazel, //keys/test-keys:ovmf-vars-enrolled.fd), QEMU's Secure Boot arguments, signing with
 * the test db key, and a boot of an EFI binary or disk that stops once the console shows a verdict.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, copyFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from '../../tools/src/definitions.ts';
import { ExecaCommandRunner } from '../../tools/src/infra/execa-command-runner.ts';
import { REPO_ROOT } from '../../tools/src/lib/repo-root.ts';
import { OVMF_SECURE_BOOT_CODE, secureBootArgs } from '../../tools/src/vm/qemu-args.ts';
import { ICOS_BIN } from './tools.ts';
import { takeVmSlot, vmLaunchCommand } from './vm-slot.ts';

export { OVMF_SECURE_BOOT_CODE };

/** The public test keys: db.key/db.crt sign what the enrolled store admits. */
export const TEST_KEYS = path.join(REPO_ROOT, 'keys/test-keys');
export const ENROLLED_VARS_TARGET = '//keys/test-keys:ovmf-vars-enrolled.fd';

/**
 * What the firmware prints when Secure Boot refuses a disk's loader (OVMF's BdsDxe, Debian 12).
 * Not "Security Violation": OVMF's built-in EFI shell, tried after the disks, is refused so too.
 */
export const REFUSED = /failed to load Boot\d+ "[^"\n]*" from PciRoot\([^\n]*: Access Denied/;

let enrolled: Promise<string> | undefined;

/** Bazel sees only this much of the caller's environment (as in env-build.ts). */
function bazelEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['HOME', 'USER']) if (process.env[name] !== undefined) env[name] = process.env[name]!;
  return env;
}

/** The enrolled store's path (read-only, in bazel-bin): built with Bazel once per test process. */
export function enrolledVars(runner: CommandRunner = new ExecaCommandRunner()): Promise<string> {
  enrolled ??= (async () => {
    const bazel = { cwd: REPO_ROOT, env: bazelEnv(), artifact: ENROLLED_VARS_TARGET };
    await runner.run('bazel', ['build', ENROLLED_VARS_TARGET], bazel);
    const binDir = (await runner.run('bazel', ['info', 'bazel-bin'], bazel)).stdout.trim();
    return path.join(binDir, 'keys/test-keys/ovmf-vars-enrolled.fd');
  })();
  return enrolled;
}

/** A writable copy of a store at `to` (QEMU writes boot entries into it; never give it the build output). */
export async function privateVarsCopy(vars: string, to: string): Promise<string> {
  await copyFile(vars, to);
  await chmod(to, 0o600);
  return to;
}

/** qemu-system-x86_64 arguments of the Secure Boot machine: q35 with SMM, secboot code, `vars` (a private copy). */
export function secureBootQemuArgs(vars: string): string[] {
  return secureBootArgs({ code: OVMF_SECURE_BOOT_CODE, vars });
}

/** Signs an EFI binary with sbsign: the test db key by default, or another key and certificate. */
export async function signEfi(
  input: string,
  output: string,
  signer: { key: string; cert: string } = { key: path.join(TEST_KEYS, 'db.key'), cert: path.join(TEST_KEYS, 'db.crt') },
  runner: CommandRunner = new ExecaCommandRunner(),
): Promise<string> {
  await runner.run('sbsign', ['--key', signer.key, '--cert', signer.cert, '--output', output, input]);
  return output;
}

/** A self-signed key and certificate that no enrolled store knows (a foreign signer). */
export async function foreignSigner(dir: string, runner: CommandRunner = new ExecaCommandRunner()): Promise<{ key: string; cert: string }> {
  const key = path.join(dir, 'foreign.key');
  const cert = path.join(dir, 'foreign.crt');
  const subject = ['-subj', '/CN=not enrolled/', '-days', '3650', '-nodes'];
  await runner.run('openssl', ['req', '-new', '-x509', '-newkey', 'rsa:2048', '-sha256', ...subject, '-keyout', key, '-out', cert]);
  return { key, cert };
}

/** A FAT image holding `efi` as the removable-media loader \EFI\BOOT\BOOTX64.EFI, bootable as a disk. */
export async function efiDisk(efi: string, image: string, runner: CommandRunner = new ExecaCommandRunner()): Promise<string> {
  await rm(image, { force: true }); // mkfs.vfat -C makes the file and refuses an existing one
  await runner.run('mkfs.vfat', ['-C', '-i', '5ecb0070', image, '2048']);
  const mtools = { env: { MTOOLSRC: '/dev/null', MTOOLS_SKIP_CHECK: '1' }, input: '' };
  await runner.run('mmd', ['-i', image, '::EFI', '::EFI/BOOT'], mtools);
  await runner.run('mcopy', ['-i', image, efi, '::EFI/BOOT/BOOTX64.EFI'], mtools);
  return image;
}

export interface SecureBootRun {
  /** The pattern that matched first, or undefined when the time ran out. */
  matched?: RegExp;
  /** Everything the console printed. */
  console: string;
  seconds: number;
}

/**
 * Boots `disk` with `icos launch --secure-boot --vars VARS` (launch copies the store) and stops it
 * as soon as the console matches one of `patterns`, or after `timeoutMs`. Holds the VM slot.
 * `memory`: enough for an EFI binary by default; GRUB loading a kernel and initrd needs more.
 */
export async function bootUntil(disk: string, vars: string, patterns: readonly RegExp[], timeoutMs = 30_000, memory = '256M'): Promise<SecureBootRun> {
  const release = await takeVmSlot();
  const started = Date.now();
  let child: ChildProcess | undefined;
  try {
    const args = ['launch', '--disk', disk, '--secure-boot', '--vars', vars, '--memory', memory, '--timeout', String(Math.ceil(timeoutMs / 1000) + 5)];
    const [command, commandArgs] = vmLaunchCommand([ICOS_BIN, ...args]);
    child = spawn(command, commandArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    const matched = await new Promise<RegExp | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      const look = (chunk: Buffer) => {
        text += chunk.toString('latin1');
        const found = patterns.find((pattern) => pattern.test(text));
        if (found !== undefined) {
          clearTimeout(timer);
          resolve(found);
        }
      };
      child!.stdout!.on('data', look);
      child!.stderr!.on('data', look);
      void exited.then(() => {
        clearTimeout(timer);
        resolve(patterns.find((pattern) => pattern.test(text)));
      });
    });
    child.kill('SIGTERM'); // icos stops QEMU and removes its scratch copy
    await exited;
    return { matched, console: text, seconds: Math.round((Date.now() - started) / 100) / 10 };
  } finally {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    release();
  }
}
