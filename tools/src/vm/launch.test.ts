import { describe, expect, it } from 'vitest';
import { type LaunchFacts, planLaunch } from './launch.ts';
import { type LaunchFlags, parseLaunchFlags } from './launch-request.ts';

/** The value after each occurrence of `flag`. */
function values(args: readonly string[], flag: string): string[] {
  return args.flatMap((arg, i) => (arg === flag ? [args[i + 1]!] : []));
}

const FACTS: LaunchFacts = { format: 'raw', targetExists: false, kvm: false, terminal: true, scratch: '/scratch' };
const CONFIG_PARTITION = { number: 3, offset: 201 * 1024 * 1024, size: 50 * 1024 * 1024 };
const INI = { size: 200, binary: false };
const MEDIUM = { size: 1024 * 1024, binary: true };

function plan(flags: Partial<LaunchFlags>, facts: Partial<LaunchFacts> = {}) {
  return planLaunch(parseLaunchFlags({ disk: '/images/disk.img', ...flags }), { ...FACTS, ...facts });
}

describe('parseLaunchFlags', () => {
  it('fills the defaults: MAC, 2 GiB, one vCPU, no timeout, writes discarded', () => {
    expect(parseLaunchFlags({ disk: 'd.img' })).toEqual({
      disk: 'd.img', target: undefined, targetSize: undefined, config: undefined, mac: '52:54:00:12:34:56', memoryMiB: 2048, cpus: 1,
      serialLog: undefined, persist: false, timeoutSeconds: undefined, secureBoot: false, ovmfVars: undefined, allowReboot: false,
    });
  });

  it('reads sizes with suffixes, MACs in any case, fractional timeouts', () => {
    const request = parseLaunchFlags({ disk: 'd', target: 't', 'target-size': '20G', mac: '52-54-00-AB-CD-EF', memory: '512M', cpus: '2', timeout: '2.5' });
    expect(request).toMatchObject({ targetSize: 20 * 1024 ** 3, mac: '52:54:00:ab:cd:ef', memoryMiB: 512, cpus: 2, timeoutSeconds: 2.5 });
  });

  it.each<[Partial<LaunchFlags>, string]>([
    [{ mac: '52:54:00:12:34' }, '--mac "52:54:00:12:34": expected six hex pairs'],
    [{ mac: '01:00:5e:00:00:01' }, '--mac "01:00:5e:00:00:01": a multicast address'],
    [{ memory: '2X' }, '--memory "2X": expected a number of bytes'],
    [{ memory: '64M' }, '--memory "64M": expected a whole number of MiB, at least 128M'],
    [{ memory: '2049K' }, '--memory "2049K": expected a whole number of MiB'],
    [{ cpus: '0' }, '--cpus "0": expected a whole number of vCPUs from 1 to 64'],
    [{ cpus: '1.5' }, '--cpus "1.5"'],
    [{ timeout: '0' }, '--timeout "0": expected a positive number of seconds'],
    [{ timeout: '-1' }, '--timeout "-1"'],
    [{ timeout: 'soon' }, '--timeout "soon"'],
    [{ 'target-size': '1G' }, '--target-size "1G": only with --target FILE'],
    [{ target: 't', 'target-size': 'big' }, '--target-size "big": expected a number of bytes'],
    [{ 'ovmf-vars': 'v.fd' }, '--ovmf-vars "v.fd": only with --secure-boot'],
    [{ disk: '' }, '--disk "": expected a disk image'],
  ])('refuses %o naming the flag', (flags, message) => {
    expect(() => parseLaunchFlags({ disk: 'd.img', ...flags })).toThrow(message);
  });
});

describe('planLaunch', () => {
  it('boots a raw disk as a snapshot on this terminal, nothing to prepare', () => {
    const { steps, qemu } = plan({});
    expect(steps).toEqual([]);
    expect(values(qemu, '-drive')).toEqual(['file=/images/disk.img,format=raw,cache=unsafe,snapshot=on,if=virtio']);
    expect(values(qemu, '-serial')).toEqual(['mon:stdio']);
    expect(values(qemu, '-m')).toEqual(['2048M']);
  });

  it('gives plain stdio without the monitor when stdin is no terminal, and a file with --serial-log', () => {
    expect(values(plan({}, { terminal: false }).qemu, '-serial')).toEqual(['stdio']);
    expect(values(plan({ 'serial-log': 'con.log' }).qemu, '-serial')).toEqual(['file:con.log']);
  });

  it('boots the unpacked copy of an archive; --persist writes a raw or qcow2 disk itself', () => {
    expect(values(plan({}, { format: 'archive', unpacked: '/scratch/disk.img' }).qemu, '-drive')[0]).toMatch(/^file=\/scratch\/disk\.img,format=raw,.*snapshot=on/);
    expect(values(plan({ persist: true }).qemu, '-drive')[0]).toContain('snapshot=off');
    expect(values(plan({ persist: true }, { format: 'qcow2' }).qemu, '-drive')[0]).toMatch(/format=qcow2,.*snapshot=off/);
    expect(() => plan({ persist: true }, { format: 'archive', unpacked: '/scratch/disk.img' })).toThrow('--persist: --disk "/images/disk.img" is an archive');
  });

  it('passes memory, vCPUs, MAC, reboots, KVM and the timeout on', () => {
    const { qemu, timeoutSeconds } = plan({ memory: '3G', cpus: '2', mac: '52:54:00:00:00:07', 'allow-reboot': true, timeout: '30' }, { kvm: true });
    expect([values(qemu, '-m'), values(qemu, '-smp'), values(qemu, '-accel'), timeoutSeconds]).toEqual([['3072M'], ['2'], ['kvm'], 30]);
    expect(values(qemu, '-device')).toContain('virtio-net-pci,netdev=mgmt,mac=52:54:00:00:00:07');
    expect(qemu).not.toContain('-no-reboot');
  });

  describe('--config', () => {
    it('attaches a config medium when the disk has no CONFIG partition', () => {
      const { steps, qemu } = plan({ config: 'config.img' }, { configFile: MEDIUM });
      expect(steps).toEqual([]);
      expect(values(qemu, '-drive')).toContain('file=config.img,format=raw,if=none,id=config,readonly=on');
    });

    it('writes config.ini onto the CONFIG partition of a private sparse copy of a raw disk', () => {
      const { steps, qemu } = plan({ config: 'config.ini' }, { configPartition: CONFIG_PARTITION, configFile: INI });
      expect(steps).toEqual([
        { kind: 'copy-disk', from: '/images/disk.img', to: '/scratch/disk.img' },
        { kind: 'write-config-ini', disk: '/scratch/disk.img', offset: CONFIG_PARTITION.offset, file: 'config.ini' },
      ]);
      expect(values(qemu, '-drive')).toEqual(['file=/scratch/disk.img,format=raw,cache=unsafe,snapshot=on,if=virtio']);
    });

    it('writes config.ini onto the disk itself with --persist, and onto an unpacked archive without copying it', () => {
      expect(plan({ config: 'c.ini', persist: true }, { configPartition: CONFIG_PARTITION, configFile: INI }).steps).toEqual([
        { kind: 'write-config-ini', disk: '/images/disk.img', offset: CONFIG_PARTITION.offset, file: 'c.ini' },
      ]);
      expect(plan({ config: 'c.ini' }, { format: 'archive', unpacked: '/scratch/disk.img', configPartition: CONFIG_PARTITION, configFile: INI }).steps).toEqual([
        { kind: 'write-config-ini', disk: '/scratch/disk.img', offset: CONFIG_PARTITION.offset, file: 'c.ini' },
      ]);
    });

    it('refuses a qcow2 disk with a CONFIG partition, naming both', () => {
      expect(() => plan({ disk: 'o.qcow2', config: 'c.ini' }, { format: 'qcow2', configPartition: CONFIG_PARTITION, configFile: INI })).toThrow(
        '--config "c.ini" with --disk "o.qcow2": the qcow2 disk has a CONFIG partition (partition 3)',
      );
    });

    it('refuses a file of the wrong kind for the disk', () => {
      expect(() => plan({ config: 'config.img' }, { configPartition: CONFIG_PARTITION, configFile: MEDIUM })).toThrow(
        '--config "config.img": --disk has a CONFIG partition, so --config is the config.ini copied onto it, and this file is binary',
      );
      expect(() => plan({ config: 'config.ini' }, { configFile: INI })).toThrow(
        '--config "config.ini": --disk has no CONFIG partition, so --config is a config medium attached as a disk, and this file (200 bytes) is not a disk image',
      );
    });
  });

  describe('install mode', () => {
    it('creates a missing target sparse (128 GiB by default) and boots the disk from USB', () => {
      const { steps, qemu } = plan({ target: 'target.img' });
      expect(steps).toEqual([{ kind: 'create-target', file: 'target.img', size: 128 * 1024 ** 3 }]);
      expect(values(qemu, '-device')).toContain('usb-storage,bus=xhci.0,drive=installer,removable=on,bootindex=0');
      expect(values(qemu, '-drive')).toContain('file=target.img,format=raw,cache=unsafe,if=none,id=target');
    });

    it('uses an existing target as it is, warning about a --target-size given anyway', () => {
      expect(plan({ target: 'target.img', 'target-size': '20G' }, { targetExists: true })).toMatchObject({
        steps: [],
        warnings: ['--target-size: "target.img" exists and is used as it is'],
      });
      expect(plan({ target: 'target.img', 'target-size': '20G' }).steps).toEqual([{ kind: 'create-target', file: 'target.img', size: 20 * 1024 ** 3 }]);
    });

    it('refuses the disk as its own target', () => {
      expect(() => plan({ target: '/images/../images/disk.img' })).toThrow('--target "/images/../images/disk.img": is --disk itself');
    });
  });

  it('boots Secure Boot firmware with a private copy of the Microsoft-keyed vars, or of --ovmf-vars', () => {
    const { steps, qemu } = plan({ 'secure-boot': true });
    expect(steps).toEqual([{ kind: 'copy-vars', from: '/usr/share/OVMF/OVMF_VARS_4M.ms.fd', to: '/scratch/OVMF_VARS.fd' }]);
    expect(values(qemu, '-drive')).toContain('if=pflash,format=raw,unit=1,file=/scratch/OVMF_VARS.fd');
    expect(values(qemu, '-machine')).toEqual(['q35,smm=on']);
    expect(plan({ 'secure-boot': true, 'ovmf-vars': 'ours.fd' }).steps).toEqual([{ kind: 'copy-vars', from: 'ours.fd', to: '/scratch/OVMF_VARS.fd' }]);
  });

  it('with --secure-boot copies --default-ovmf-vars (bazel run\'s enrolled store) unless --ovmf-vars is given; without it, ignores it', () => {
    const enrolled = { 'default-ovmf-vars': '/runfiles/ovmf-vars-enrolled.fd' };
    expect(plan({ 'secure-boot': true, ...enrolled }).steps).toEqual([{ kind: 'copy-vars', from: '/runfiles/ovmf-vars-enrolled.fd', to: '/scratch/OVMF_VARS.fd' }]);
    expect(plan({ 'secure-boot': true, 'ovmf-vars': 'ours.fd', ...enrolled }).steps).toEqual([{ kind: 'copy-vars', from: 'ours.fd', to: '/scratch/OVMF_VARS.fd' }]);
    const plain = plan(enrolled);
    expect(plain.steps).toEqual([]);
    expect(plain.qemu).toContain('-bios');
    expect(plain.qemu.join(' ')).not.toContain('pflash');
  });
});
