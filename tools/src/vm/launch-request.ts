import { UsageError } from '../cli/command.ts';
import { UserError } from '../errors.ts';
import { normaliseMac } from '../ic-node/deterministic-mac.ts';
import { parseSize } from '../lib/size.ts';
import { DEFAULT_MAC } from './qemu-args.ts';

/** What `icos launch` was asked for, every value checked. */
export interface LaunchRequest {
  disk: string;
  /** Install mode: the file the installer writes to. */
  target?: string;
  /** Size of a target that does not exist yet; undefined: the default. */
  targetSize?: number;
  config?: string;
  /** A read-only raw disk for the guest to read from (an upgrade medium). */
  medium?: string;
  mac: string;
  memoryMiB: number;
  cpus: number;
  serialLog?: string;
  persist: boolean;
  timeoutSeconds?: number;
  secureBoot: boolean;
  ovmfVars?: string;
  allowReboot: boolean;
}

/** The flags as typed (yargs strings and booleans). */
export interface LaunchFlags {
  disk: string;
  target?: string;
  'target-size'?: string;
  config?: string;
  medium?: string;
  mac?: string;
  memory?: string;
  cpus?: string;
  'serial-log'?: string;
  persist?: boolean;
  timeout?: string;
  'secure-boot'?: boolean;
  'ovmf-vars'?: string;
  /** The store --secure-boot copies when --ovmf-vars is not given (`bazel run :launch` names the test-key one). */
  'default-ovmf-vars'?: string;
  'allow-reboot'?: boolean;
}

export const DEFAULT_TARGET_SIZE = 128 * 1024 ** 3;
const MIB = 1024 * 1024;
/** Below this OVMF alone does not start. */
const MIN_MEMORY_MIB = 128;
const MAX_CPUS = 64;

/** parseSize's message, as a usage error (it names the flag already). */
function sizeFlag(text: string, flag: string): number {
  try {
    return parseSize(text, flag);
  } catch (error) {
    throw error instanceof UserError ? new UsageError(error.message) : error;
  }
}

function parseMac(text: string): string {
  let mac: string;
  try {
    mac = normaliseMac(text, '--mac');
  } catch (error) {
    throw error instanceof UserError ? new UsageError(error.message) : error;
  }
  if (parseInt(mac.slice(0, 2), 16) & 1) {
    throw new UsageError(`--mac "${text}": a multicast address (odd first byte): a NIC needs a unicast MAC, e.g. ${DEFAULT_MAC}`);
  }
  return mac;
}

function parseMemory(text: string): number {
  const bytes = sizeFlag(text, '--memory');
  if (bytes % MIB !== 0 || bytes < MIN_MEMORY_MIB * MIB) {
    throw new UsageError(`--memory "${text}": expected a whole number of MiB, at least ${MIN_MEMORY_MIB}M (e.g. 2G or 512M; a bare number is bytes)`);
  }
  return bytes / MIB;
}

function parseCpus(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_CPUS) {
    throw new UsageError(`--cpus "${text}": expected a whole number of vCPUs from 1 to ${MAX_CPUS}`);
  }
  return Number(text);
}

function parseTimeout(text: string): number {
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0) {
    throw new UsageError(`--timeout "${text}": expected a positive number of seconds`);
  }
  return Number(text);
}

/** Checks every flag value and combination that needs no file; throws a UsageError naming the flag. */
export function parseLaunchFlags(flags: LaunchFlags): LaunchRequest {
  if (flags.disk.trim() === '') throw new UsageError('--disk "": expected a disk image (raw, qcow2 or disk-img.tar.zst)');
  if (flags['target-size'] !== undefined && flags.target === undefined) {
    throw new UsageError(`--target-size "${flags['target-size']}": only with --target FILE (the disk an installer writes to)`);
  }
  if (flags['ovmf-vars'] !== undefined && flags['secure-boot'] !== true) {
    throw new UsageError(`--ovmf-vars "${flags['ovmf-vars']}": only with --secure-boot (plain OVMF keeps no variable store)`);
  }
  return {
    disk: flags.disk,
    target: flags.target,
    targetSize: flags['target-size'] === undefined ? undefined : sizeFlag(flags['target-size'], '--target-size'),
    config: flags.config,
    medium: flags.medium,
    mac: parseMac(flags.mac ?? DEFAULT_MAC),
    memoryMiB: parseMemory(flags.memory ?? '2G'),
    cpus: parseCpus(flags.cpus ?? '1'),
    serialLog: flags['serial-log'],
    persist: flags.persist === true,
    timeoutSeconds: flags.timeout === undefined ? undefined : parseTimeout(flags.timeout),
    secureBoot: flags['secure-boot'] === true,
    ovmfVars: flags['ovmf-vars'] ?? (flags['secure-boot'] === true ? flags['default-ovmf-vars'] : undefined),
    allowReboot: flags['allow-reboot'] === true,
  };
}
