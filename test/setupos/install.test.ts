/**
 * SetupOS dev installs a node in QEMU (TCG): `icos launch` in install mode attaches the SetupOS
 * disk as USB storage and a blank sparse 128 GiB target as virtio, the installer runs to its
 * success line and powers off; the target is then read on the host with independent tools
 * (sgdisk, sfdisk, pvs/lvs on a read-only loop device, qemu-img compare, debugfs) and booted alone to the
 * HostOS dev login prompt (media.test.ts checks what the media carry). A config.ini with a bad field stops the install before the target is
 * touched. The install's config.ini uses QEMU's user network (prefix fec0::/64, gateway fec0::2),
 * so the network check runs for real.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnv, DISK, REPO } from '../support/env-build.ts';
import { SerialVm } from '../support/serial-vm.ts';
import { allocatedBytes, attachLoop, detachLoop, lvmReport, sameBytesSparse, tool, toolStatus, useTempDir } from '../support/tools.ts';
import { SLOT_WAIT_MS, takeVmSlot } from '../support/vm-slot.ts';

const INSTALL_TIMEOUT = 25 * 60_000;
const BOOT_TIMEOUT = 15 * 60_000;
const MAC = '52:54:00:12:34:56';
const TARGET_SIZE = 128 * 1024 ** 3;
const temp = useTempDir('setupos-install');
const LOG_DIR = path.join(REPO, 'build', 'test-logs', 'setupos');
const CONFIG_INI = 'ipv6_prefix=fec0:0:0:0\nipv6_gateway=fec0::2\ndomain=node.example.com\n';

interface Partition {
  node: string;
  start: number;
  size: number;
  name?: string;
}

function partitions(disk: string): { lastlba: number; partitions: Partition[] } {
  return (JSON.parse(tool('sfdisk', ['--json', disk])) as { partitiontable: { lastlba: number; partitions: Partition[] } }).partitiontable;
}

function partitionNamed(disk: string, name: string): Partition {
  const found = partitions(disk).partitions.find((p) => p.name === name);
  if (found === undefined) throw new Error(`${disk}: no partition "${name}"`);
  return found;
}

/** Runs `body` with a read-only loop device over a partition of `disk`. */
function withPartition<T>(disk: string, partition: Partition, body: (device: string) => T): T {
  const device = attachLoop(disk, partition.start * 512, partition.size * 512);
  try {
    return body(device);
  } finally {
    detachLoop(device);
  }
}

/** Boots SetupOS dev in install mode onto `target` with `configIni` on its CONFIG partition. */
async function startInstaller(setupDisk: string, target: string, configIni: string, log: string): Promise<SerialVm> {
  const config = temp.at(`${log}.ini`);
  writeFileSync(config, configIni);
  mkdirSync(LOG_DIR, { recursive: true });
  const vm = new SerialVm({ disk: setupDisk, target, targetSize: String(TARGET_SIZE), configImage: config, mac: MAC, memory: '3G' }, path.join(LOG_DIR, log), await takeVmSlot());
  vm.start();
  return vm;
}

describe('SetupOS dev', () => {
  let setupDisk: string;
  let guestDisk: string;

  beforeAll(async () => {
    const setup = await buildEnv({ os: 'setupos', env: 'dev', unpack: [DISK] });
    setupDisk = setup.images['disk.img']!;
    const guest = await buildEnv({ os: 'guestos', env: 'dev', unpack: [DISK] });
    guestDisk = guest.images['disk.img']!;
  }, 60 * 60_000);

  describe('with a config.ini whose ipv6_gateway is bad', () => {
    const target = temp.at('untouched.img');
    let vm: SerialVm;
    afterAll(() => vm?.kill());

    it('stops before the install, naming the field, and leaves the target untouched', async () => {
      vm = await startInstaller(setupDisk, target, CONFIG_INI.replace('fec0::2', 'fec0::zz'), 'bad-config.log');
      const line = await vm.expect(/config\.ini:(\d+): column "ipv6_gateway": "fec0::zz": expected an IPv6 address/, INSTALL_TIMEOUT);
      expect(line[1]).toBe('2');
      await vm.expect(/SetupOS: FAILED: check-config/, 60_000);
      vm.kill();
      expect(tool('stat', ['-c', '%s', target]).trim()).toBe(String(TARGET_SIZE));
      expect(allocatedBytes(target)).toBe(0);
    }, SLOT_WAIT_MS + INSTALL_TIMEOUT);
  });

  describe('installing onto a blank 128 GiB disk', () => {
    const target = temp.at('target.img');
    let vm: SerialVm;
    afterAll(() => vm?.kill());

    it('runs every step to the success line and powers off', async () => {
      vm = await startInstaller(setupDisk, target, CONFIG_INI, 'install.log');
      await vm.expect(/SetupOS: config: .* are valid/, INSTALL_TIMEOUT);
      await vm.expect(/SetupOS: target disk: \/dev\/vda/, 60_000);
      await vm.expect(/check-hardware: CPU, memory and \/dev\/vda/, 120_000);
      await vm.expect(/SetupOS: network: gateway fec0::2 answers/, 180_000);
      await vm.expect(/install: HostOS written/, INSTALL_TIMEOUT);
      await vm.expect(/install: GuestOS written into guestos/, INSTALL_TIMEOUT);
      await vm.expect(/install: \/dev\/vda: partition table written and verified/, INSTALL_TIMEOUT);
      await vm.expect(/SetupOS: SUCCESS: the node is installed on \/dev\/vda/, 60_000);
      await vm.expect(/reboot: Power down|\[qemu exited: 0\]/, 5 * 60_000);
      console.log(`setupos install: success line after ${vm.elapsed()} s`);
      vm.kill();
    }, SLOT_WAIT_MS + INSTALL_TIMEOUT);

    it('has a GPT that sgdisk finds no problems in, with the LVM partition grown to the disk end', () => {
      expect(tool('sgdisk', ['-v', target])).toContain('No problems found');
      const table = partitions(target);
      const pv = partitionNamed(target, 'hostlvm');
      expect(table.partitions.at(-1)).toEqual(pv);
      // It ends on a 1 MiB boundary within the last usable MiB, and only the backup table follows.
      expect(pv.start + pv.size - 1).toBeLessThanOrEqual(table.lastlba);
      expect(TARGET_SIZE - (pv.start + pv.size) * 512).toBeLessThan(2 * 1024 * 1024);
    });

    it('has hostlvm with the guestos volume grown, the GuestOS dev disk in it and the test config in the config volume', async () => {
      const pv = partitionNamed(target, 'hostlvm');
      const { peStart, volumes } = withPartition(target, pv, (device) => {
        expect(lvmReport('pvs', device, 'vg_name').map((r) => r.vg_name)).toEqual(['hostlvm']);
        return { peStart: Number(lvmReport('pvs', device, 'pe_start')[0]!.pe_start), volumes: lvmReport('lvs', device, 'lv_name,lv_size,seg_pe_ranges,vg_extent_size') };
      });
      // Where a volume's first segment starts on the target, in bytes.
      const startOf = (name: string) => {
        const volume = volumes.find((v) => v.lv_name === name)!;
        return pv.start * 512 + peStart + Number(/:(\d+)-/.exec(volume.seg_pe_ranges!)![1]) * Number(volume.vg_extent_size);
      };
      const guest = volumes.find((v) => v.lv_name === 'guestos')!;
      expect(Number(guest.lv_size)).toBeGreaterThan(50 * 1024 ** 3);
      const guestBytes = Number(tool('stat', ['-c', '%s', guestDisk]).trim());
      expect(sameBytesSparse(target, startOf('guestos'), guestDisk, 0, guestBytes)).toBe(true);

      const config = volumes.find((v) => v.lv_name === 'config')!;
      const configDevice = attachLoop(target, startOf('config'), Number(config.lv_size));
      try {
        expect(tool('debugfs', ['-R', 'cat /config.ini', configDevice])).toBe(CONFIG_INI);
        expect(JSON.parse(tool('debugfs', ['-R', 'cat /deployment.json', configDevice])).deployment.name).toBe('testnet');
        expect(tool('debugfs', ['-R', 'ls -p /ssh_authorized_keys', configDevice])).toContain('/admin/');
        expect(toolStatus('e2fsck', ['-fn', configDevice]).status).toBe(0);
      } finally {
        detachLoop(configDevice);
      }
    }, 10 * 60_000);

    it('boots alone to the HostOS dev login prompt', async () => {
      vm = new SerialVm({ disk: target, mac: MAC, memory: '3G' }, path.join(LOG_DIR, 'installed-node.log'), await takeVmSlot());
      vm.start();
      await vm.expect(/HostOS: booting slot A/, BOOT_TIMEOUT);
      await vm.expect(/host-525400123456 login: /, BOOT_TIMEOUT);
      console.log(`installed node: HostOS login prompt after ${vm.elapsed()} s`);
    }, SLOT_WAIT_MS + BOOT_TIMEOUT);
  });
});
