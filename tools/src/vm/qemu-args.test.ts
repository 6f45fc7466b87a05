import { describe, expect, it } from 'vitest';
import { qemuArgs, secureBootArgs, type VmSpec } from './qemu-args.ts';

/** The value after each occurrence of `flag`. */
function values(args: readonly string[], flag: string): string[] {
  return args.flatMap((arg, i) => (arg === flag ? [args[i + 1]!] : []));
}

const BASE: VmSpec = { disk: '/images/disk.img' };

describe('qemuArgs', () => {
  it('boots a raw disk as a virtio snapshot under TCG with plain OVMF, one vCPU, 2G, no reboot', () => {
    expect(qemuArgs(BASE)).toEqual([
      '-accel', 'tcg,thread=multi',
      '-machine', 'q35',
      '-bios', '/usr/share/ovmf/OVMF.fd',
      '-m', '2G',
      '-smp', '1',
      '-display', 'none',
      '-no-reboot',
      '-serial', 'stdio',
      '-monitor', 'none',
      '-drive', 'file=/images/disk.img,format=raw,cache=unsafe,snapshot=on,if=virtio',
      '-netdev', 'user,id=mgmt',
      '-device', 'virtio-net-pci,netdev=mgmt,mac=52:54:00:12:34:56',
    ]);
  });

  it('writes a persistent qcow2 disk, with the memory, vCPUs and MAC asked for', () => {
    const args = qemuArgs({ ...BASE, disk: '/o.qcow2', diskFormat: 'qcow2', snapshot: false, memory: '3072M', cpus: 2, mac: '52:54:00:aa:bb:cc' });
    expect(values(args, '-drive')).toEqual(['file=/o.qcow2,format=qcow2,cache=unsafe,snapshot=off,if=virtio']);
    expect(values(args, '-m')).toEqual(['3072M']);
    expect(values(args, '-smp')).toEqual(['2']);
    expect(values(args, '-device')).toEqual(['virtio-net-pci,netdev=mgmt,mac=52:54:00:aa:bb:cc']);
  });

  it('attaches a config medium read-only as the virtio disk with serial "config"', () => {
    const args = qemuArgs({ ...BASE, configImage: '/c/config.img' });
    expect(values(args, '-drive')).toContain('file=/c/config.img,format=raw,if=none,id=config,readonly=on');
    expect(values(args, '-device').at(-1)).toBe('virtio-blk-pci,drive=config,serial=config');
  });

  it('attaches a medium read-only with serial "medium", after the config medium', () => {
    const args = qemuArgs({ ...BASE, configImage: '/c/config.img', medium: '/m/upgrade,1.img' });
    expect(values(args, '-drive').at(-1)).toBe('file=/m/upgrade,,1.img,format=raw,if=none,id=medium,readonly=on');
    expect(values(args, '-device').slice(-2)).toEqual(['virtio-blk-pci,drive=config,serial=config', 'virtio-blk-pci,drive=medium,serial=medium']);
  });

  it('puts the console on this terminal with the monitor multiplexed, or in a file', () => {
    const terminal = qemuArgs({ ...BASE, console: { kind: 'terminal' } });
    expect(values(terminal, '-serial')).toEqual(['mon:stdio']);
    expect(terminal).not.toContain('-monitor');
    const file = qemuArgs({ ...BASE, console: { kind: 'file', path: '/logs/a,b.log' } });
    expect(values(file, '-serial')).toEqual(['file:/logs/a,,b.log']);
    expect(values(file, '-monitor')).toEqual(['none']);
  });

  it('lets the guest reboot only when asked', () => {
    expect(qemuArgs({ ...BASE, allowReboot: true })).not.toContain('-no-reboot');
  });

  it('uses KVM with the host CPU when /dev/kvm is usable', () => {
    const args = qemuArgs({ ...BASE, kvm: true });
    expect(args.slice(0, 4)).toEqual(['-accel', 'kvm', '-cpu', 'host']);
    expect(args.join(' ')).not.toContain('tcg');
  });

  it('boots Secure Boot firmware from pflash: SMM, secure flash, read-only code and private vars', () => {
    const args = qemuArgs({ ...BASE, secureBoot: { code: '/fw/CODE.secboot.fd', vars: '/scratch/VARS.fd' } });
    expect(values(args, '-machine')).toEqual(['q35,smm=on']);
    expect(values(args, '-global')).toEqual(['driver=cfi.pflash01,property=secure,value=on']);
    expect(values(args, '-drive').slice(0, 2)).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.secboot.fd',
      'if=pflash,format=raw,unit=1,file=/scratch/VARS.fd',
    ]);
    expect(args).not.toContain('-bios');
  });

  it('gives the Secure Boot machine as one piece (the enrolment boot uses it too), commas in paths doubled', () => {
    expect(secureBootArgs({ code: '/fw/CODE.fd', vars: '/a,b/VARS.fd' })).toEqual([
      '-machine', 'q35,smm=on',
      '-global', 'driver=cfi.pflash01,property=secure,value=on',
      '-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd',
      '-drive', 'if=pflash,format=raw,unit=1,file=/a,,b/VARS.fd',
    ]);
    const args = qemuArgs({ ...BASE, secureBoot: { code: '/fw/CODE.fd', vars: '/s/VARS.fd' } });
    expect(args.filter((arg) => arg === '-machine')).toHaveLength(1);
    expect(args).toContain('-no-reboot');
  });

  it('installs: the disk on a removable USB stick booted first, the target a persistent virtio disk', () => {
    const args = qemuArgs({ ...BASE, target: '/vm/target.img', configImage: '/c/config.img' });
    expect(values(args, '-drive')).toEqual([
      'file=/images/disk.img,format=raw,cache=unsafe,snapshot=on,if=none,id=installer',
      'file=/vm/target.img,format=raw,cache=unsafe,if=none,id=target',
      'file=/c/config.img,format=raw,if=none,id=config,readonly=on',
    ]);
    expect(values(args, '-device')).toEqual([
      'qemu-xhci,id=xhci',
      'usb-storage,bus=xhci.0,drive=installer,removable=on,bootindex=0',
      'virtio-blk-pci,drive=target,bootindex=1',
      'virtio-net-pci,netdev=mgmt,mac=52:54:00:12:34:56',
      // The target is the first virtio disk: the config medium comes after it.
      'virtio-blk-pci,drive=config,serial=config',
    ]);
    expect(args.join(' ')).not.toMatch(/if=virtio/);
  });
});
