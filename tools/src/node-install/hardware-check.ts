import type { Problem } from '../errors.ts';
import type { DeploymentConfig } from '../ic-node/node-config.ts';

/**
 * Whether this machine can run the node the deployment describes. IC-OS checks its own server
 * generations (CPU models, 512 GiB, five NVMe drives); ours checks what the images need: a CPU
 * that can run GuestOS under KVM when the deployment asks for KVM, memory for the GuestOS VM and
 * HostOS beside it, and a target disk that holds the HostOS image.
 */

/** What HostOS itself needs beside the GuestOS VM. */
export const HOSTOS_MEMORY_MIB = 1024;

export interface MachineFacts {
  /** /proc/cpuinfo */
  cpuinfo: string;
  /** /proc/meminfo */
  meminfo: string;
  target: string;
  targetBytes: number;
}

export function checkHardware(machine: MachineFacts, deployment: DeploymentConfig, deploymentFile: string, imageBytes: number): Problem[] {
  const problems: Problem[] = [];
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(machine.cpuinfo)?.[1] ?? '').split(/\s+/));
  if (!flags.has('lm')) problems.push({ file: '/proc/cpuinfo', message: 'the CPU is not 64-bit x86 (no "lm" flag)' });
  if (deployment.cpu === 'kvm' && !flags.has('vmx') && !flags.has('svm')) {
    problems.push({ file: '/proc/cpuinfo', message: `the CPU has neither vmx nor svm, and ${deploymentFile} (resources.cpu "kvm") runs GuestOS under KVM` });
  }
  const totalKiB = Number(/^MemTotal:\s*(\d+)\s*kB$/m.exec(machine.meminfo)?.[1] ?? NaN);
  const neededMiB = deployment.memoryMiB + HOSTOS_MEMORY_MIB;
  if (!Number.isFinite(totalKiB)) {
    problems.push({ file: '/proc/meminfo', message: 'no MemTotal line' });
  } else if (totalKiB / 1024 < neededMiB) {
    problems.push({
      file: '/proc/meminfo',
      message: `${Math.floor(totalKiB / 1024)} MiB of memory; the node needs ${neededMiB} MiB (GuestOS ${deployment.memoryMiB} MiB from ${deploymentFile} resources.memory + HostOS ${HOSTOS_MEMORY_MIB} MiB)`,
    });
  }
  if (machine.targetBytes < imageBytes) {
    problems.push({ file: machine.target, message: `${machine.targetBytes} bytes; the HostOS image needs ${imageBytes}` });
  }
  return problems;
}
