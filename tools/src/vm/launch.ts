import { constants } from 'node:fs';
import { access, chmod, copyFile, open, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../cli/command.ts';
import type { CommandRunner, Logger } from '../definitions.ts';
import { UserError } from '../errors.ts';
import { unpackFramedArchive } from '../kinds/sparse-tar/reader.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { statRegularFile } from '../lib/input-file.ts';
import { describeSize } from '../lib/size.ts';
import { MESSAGES } from '../messages.ts';
import { type DiskFormat, diskFormatOf, findConfigPartition, type PartitionExtent } from './disk-probe.ts';
import { DEFAULT_TARGET_SIZE, type LaunchRequest } from './launch-request.ts';
import { OVMF, OVMF_SECURE_BOOT_CODE, OVMF_SECURE_BOOT_VARS, qemuArgs, type SerialConsole } from './qemu-args.ts';

/** What `launch` found out before planning: the disk, the files named, this machine. */
export interface LaunchFacts {
  format: DiskFormat;
  /** The raw disk an archive was unpacked to (in `scratch`). */
  unpacked?: string;
  /** The disk's FAT partition labelled CONFIG, looked for only with --config. */
  configPartition?: PartitionExtent;
  /** The --config file: its size and whether its first bytes hold a NUL (not a config.ini). */
  configFile?: { size: number; binary: boolean };
  targetExists: boolean;
  /** /dev/kvm is usable. */
  kvm: boolean;
  /** stdin is a terminal: the console goes there with the QEMU monitor; else plain stdio. */
  terminal: boolean;
  /** A private directory removed when icos exits. */
  scratch: string;
}

export type LaunchStep =
  /** A private sparse copy of a disk (cp --sparse=always), so config.ini is written to the copy. */
  | { kind: 'copy-disk'; from: string; to: string }
  | { kind: 'write-config-ini'; disk: string; offset: number; file: string }
  | { kind: 'create-target'; file: string; size: number }
  | { kind: 'copy-vars'; from: string; to: string };

export interface LaunchPlan {
  steps: LaunchStep[];
  qemu: string[];
  timeoutSeconds?: number;
  warnings: string[];
}

export const QEMU = 'qemu-system-x86_64';
/** Exit status after --timeout, as timeout(1) gives. */
export const TIMEOUT_STATUS = 124;

/** Refuses --persist where there is nothing to write back to: checked before unpacking anything. */
export function checkPersist(request: LaunchRequest, format: DiskFormat): void {
  if (request.persist && format === 'archive') {
    throw new UsageError(`--persist: --disk "${request.disk}" is an archive, booted from a scratch copy that is removed at exit: unpack it to boot it with --persist, or leave --persist out`);
  }
}

/** The config file's role follows from the disk: config.ini for a CONFIG partition, else a config medium. */
function checkConfig(request: LaunchRequest, facts: LaunchFacts): void {
  const { config } = request;
  const file = facts.configFile;
  if (config === undefined || file === undefined) return;
  const partition = facts.configPartition;
  if (partition !== undefined && facts.format === 'qcow2') {
    throw new UsageError(`--config "${config}" with --disk "${request.disk}": the qcow2 disk has a CONFIG partition (partition ${partition.number}), and config.ini is written only to raw disks: convert it (qemu-img convert -O raw) or leave --config out`);
  }
  if (partition !== undefined && file.binary) {
    throw new UsageError(`--config "${config}": --disk has a CONFIG partition, so --config is the config.ini copied onto it, and this file is binary (a config medium?)`);
  }
  if (partition === undefined && (file.size === 0 || file.size % 512 !== 0)) {
    throw new UsageError(`--config "${config}": --disk has no CONFIG partition, so --config is a config medium attached as a disk, and this file (${file.size} bytes) is not a disk image (make one with icos config-image)`);
  }
}

function serialConsole(request: LaunchRequest, facts: LaunchFacts): SerialConsole {
  if (request.serialLog !== undefined) return { kind: 'file', path: request.serialLog };
  return facts.terminal ? { kind: 'terminal' } : { kind: 'stdio' };
}

/** Every file to prepare and the QEMU command line; throws a UsageError for a combination that cannot boot. */
export function planLaunch(request: LaunchRequest, facts: LaunchFacts): LaunchPlan {
  checkPersist(request, facts.format);
  checkConfig(request, facts);
  if (request.target !== undefined && path.resolve(request.target) === path.resolve(request.disk)) {
    throw new UsageError(`--target "${request.target}": is --disk itself: an installer needs a separate disk to install onto`);
  }
  const steps: LaunchStep[] = [];
  const warnings: string[] = [];
  let disk = facts.unpacked ?? request.disk;
  if (request.config !== undefined && facts.configPartition !== undefined) {
    if (!request.persist && facts.format === 'raw') {
      const copy = path.join(facts.scratch, path.basename(disk));
      steps.push({ kind: 'copy-disk', from: disk, to: copy });
      disk = copy;
    }
    steps.push({ kind: 'write-config-ini', disk, offset: facts.configPartition.offset, file: request.config });
  }
  if (request.target !== undefined && !facts.targetExists) {
    steps.push({ kind: 'create-target', file: request.target, size: request.targetSize ?? DEFAULT_TARGET_SIZE });
  } else if (request.target !== undefined && request.targetSize !== undefined) {
    warnings.push(`--target-size: "${request.target}" exists and is used as it is`);
  }
  let secureBoot;
  if (request.secureBoot) {
    const vars = path.join(facts.scratch, 'OVMF_VARS.fd');
    steps.push({ kind: 'copy-vars', from: request.ovmfVars ?? OVMF_SECURE_BOOT_VARS, to: vars });
    secureBoot = { code: OVMF_SECURE_BOOT_CODE, vars };
  }
  const qemu = qemuArgs({
    disk,
    diskFormat: facts.format === 'qcow2' ? 'qcow2' : 'raw',
    snapshot: !request.persist,
    target: request.target,
    configImage: facts.configPartition === undefined ? request.config : undefined,
    medium: request.medium,
    mac: request.mac,
    memory: `${request.memoryMiB}M`,
    cpus: request.cpus,
    console: serialConsole(request, facts),
    allowReboot: request.allowReboot,
    kvm: facts.kvm,
    secureBoot,
  });
  return { steps, qemu, timeoutSeconds: request.timeoutSeconds, warnings };
}

/** A readable regular file named by `flag`, or a UserError saying why not. */
async function readableFile(flag: string, file: string): Promise<number> {
  const where = `${flag} "${file}"`;
  const info = await statRegularFile(file, where);
  await access(file, constants.R_OK).catch((error: unknown) => {
    throw new UserError(MESSAGES.cannotRead(where, error));
  });
  return info.size;
}

/** Checks the files the request names (no file is written); returns whether the target exists. */
async function checkFiles(request: LaunchRequest): Promise<{ targetExists: boolean; configFile?: LaunchFacts['configFile'] }> {
  if (request.persist) {
    await access(request.disk, constants.W_OK).catch(() => {
      throw new UsageError(`--disk "${request.disk}": not writable, and --persist writes to it`);
    });
  }
  let configFile: LaunchFacts['configFile'];
  if (request.config !== undefined) {
    const size = await readableFile('--config', request.config);
    const handle = await open(request.config, 'r');
    const head = Buffer.alloc(Math.min(size, 64 * 1024));
    await handle.read(head, 0, head.length, 0).finally(() => handle.close());
    configFile = { size, binary: head.includes(0) };
  }
  if (request.ovmfVars !== undefined) await readableFile('--ovmf-vars', request.ovmfVars);
  if (request.medium !== undefined && (await readableFile('--medium', request.medium)) % 512 !== 0) {
    throw new UserError(`--medium "${request.medium}": not a whole number of 512-byte sectors, so not a disk image (the guest would miss its tail)`);
  }
  const firmware = request.secureBoot ? OVMF_SECURE_BOOT_CODE : OVMF;
  if (!(await stat(firmware).catch(() => undefined))?.isFile()) {
    throw new UserError(`${firmware}: no such file: the UEFI firmware QEMU boots`, 'install it with: apt-get install ovmf');
  }
  let targetExists = false;
  if (request.target !== undefined) {
    const info = await stat(request.target).catch(() => undefined);
    targetExists = info !== undefined;
    if (info !== undefined && !info.isFile()) throw new UserError(`--target "${request.target}": not a regular file`);
    const writable = targetExists ? request.target : path.dirname(path.resolve(request.target));
    await access(writable, constants.W_OK).catch(() => {
      // What the file system holds, not how the command line is spelt: bad input (1), not a usage error.
      throw new UserError(`--target "${request.target}": ${targetExists ? 'not writable' : `cannot be created in "${writable}"`}`);
    });
  }
  return { targetExists, configFile };
}

async function runStep(step: LaunchStep, runner: CommandRunner, log: Logger): Promise<void> {
  switch (step.kind) {
    case 'copy-disk':
      log.verbose(`copying ${step.from} to ${step.to} (config.ini goes onto the copy)`);
      await runner.run('cp', ['--sparse=always', step.from, step.to], { artifact: `launch(${step.to})` });
      return;
    case 'write-config-ini':
      // No mtools config of the user's; closed stdin, so a clash fails instead of prompting.
      await runner.run('mcopy', ['-o', '-i', `${step.disk}@@${step.offset}`, step.file, '::config.ini'], {
        env: { MTOOLSRC: '/dev/null', MTOOLS_SKIP_CHECK: '1' },
        input: '',
        artifact: `config.ini(${step.disk})`,
      });
      return;
    case 'create-target':
      await (await open(step.file, 'wx')).close();
      await truncate(step.file, step.size);
      log.info(`icos: created --target ${step.file}: ${describeSize(step.size)}, sparse`);
      return;
    case 'copy-vars':
      await copyFile(step.from, step.to);
      // QEMU writes the store; a Bazel output is read-only and its mode would follow the copy.
      await chmod(step.to, 0o600);
      return;
  }
}

/** Runs QEMU on this terminal until it exits or --timeout passes; returns icos's exit status. */
async function runQemu(plan: LaunchPlan, runner: CommandRunner, log: Logger): Promise<number> {
  const stop = new AbortController();
  let timedOut = false;
  const timer =
    plan.timeoutSeconds === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          stop.abort();
        }, plan.timeoutSeconds * 1000);
  try {
    const status = await runner.interactive(QEMU, plan.qemu, { signal: stop.signal });
    if (!timedOut) return status;
  } finally {
    clearTimeout(timer);
  }
  log.info(`icos: --timeout ${plan.timeoutSeconds}: the VM still ran after ${plan.timeoutSeconds} s: stopped it`);
  return TIMEOUT_STATUS;
}

/**
 * Boots a disk in QEMU: checks the request, unpacks an archive and writes config.ini into private
 * copies (scratch removed at exit, on SIGINT and SIGTERM too), then runs QEMU; returns its exit status.
 */
export async function launch(request: LaunchRequest, host: { kvm: boolean; terminal: boolean }, runner: CommandRunner, log: Logger): Promise<number> {
  const format = await diskFormatOf(request.disk, '--disk');
  checkPersist(request, format);
  const files = await checkFiles(request);
  return withScratchDir('launch', async (scratch) => {
    const unpacked = format === 'archive' ? await unpackFramedArchive(request.disk, scratch, scratch, runner) : undefined;
    const configPartition =
      request.config === undefined ? undefined : await findConfigPartition(unpacked ?? request.disk, format === 'qcow2' ? 'qcow2' : 'raw', scratch, runner);
    const plan = planLaunch(request, { format, unpacked, configPartition, ...files, ...host, scratch });
    for (const warning of plan.warnings) log.warn(warning);
    for (const step of plan.steps) await runStep(step, runner, log);
    return runQemu(plan, runner, log);
  });
}
