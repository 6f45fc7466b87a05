import { describe, expect, it } from 'vitest';
import type { DeploymentConfig } from '../ic-node/node-config.ts';
import { checkHardware } from './hardware-check.ts';

const kvm: DeploymentConfig = { name: 'mainnet', mgmtMac: null, cpu: 'kvm', memoryMiB: 490 * 1024, vcpus: undefined };
const qemu: DeploymentConfig = { name: 'testnet', mgmtMac: null, cpu: 'qemu', memoryMiB: 1024, vcpus: undefined };
const machine = (flags: string, memKiB: number, targetBytes = 200e9) => ({
  cpuinfo: `processor\t: 0\nflags\t\t: fpu lm ${flags}\n`,
  meminfo: `MemTotal:       ${memKiB} kB\nMemFree: 1 kB\n`,
  target: '/dev/vda',
  targetBytes,
});

describe('checkHardware', () => {
  it('passes a server that fits the deployment', () => {
    expect(checkHardware(machine('svm', 512 * 1024 * 1024), kvm, 'deployment.json', 100e9)).toEqual([]);
    expect(checkHardware(machine('', 3 * 1024 * 1024), qemu, 'deployment.json', 100e9)).toEqual([]);
  });

  it('names the CPU, memory and disk shortfalls', () => {
    const problems = checkHardware(machine('', 2 * 1024 * 1024, 50e9), kvm, 'deployment.json', 100e9).map((p) => `${p.file}: ${p.message}`);
    expect(problems).toEqual([
      '/proc/cpuinfo: the CPU has neither vmx nor svm, and deployment.json (resources.cpu "kvm") runs GuestOS under KVM',
      '/proc/meminfo: 2048 MiB of memory; the node needs 502784 MiB (GuestOS 501760 MiB from deployment.json resources.memory + HostOS 1024 MiB)',
      '/dev/vda: 50000000000 bytes; the HostOS image needs 100000000000',
    ]);
  });
});
