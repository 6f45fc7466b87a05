/**
 * GuestOS in QEMU (TCG, q35, OVMF), driven through the serial console: the dev image boots under
 * Secure Boot (test keys enrolled) from a dm-verity root and lets root log in; prod offers no
 * console login. The same dev VM then upgrades itself A -> B with manageboot.sh and falls back
 * from a slot whose root fails verity (which stops dev in the initramfs). Boot times are printed
 * (TCG is slow; no assertion on them).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuestOsImages, guestOsImages } from './images.ts';
import { resolveLayout } from '../../tools/src/os/layout.ts';
import { enrolledVars } from '../support/secure-boot.ts';
import { SerialVm, type VmSpec } from '../support/serial-vm.ts';
import { useTempDir } from '../support/tools.ts';
import { takeVmSlot } from '../support/vm-slot.ts';
import { commitCorruptedSlot, INSTALL_TIMEOUT, installFromMedium, MANAGEBOOT, readGrubenv, UPGRADE_IMAGE, versionOf } from '../support/ab-upgrade.ts';
import { makeMedium } from '../support/medium.ts';
import { HOSTNAME, MAC, makeConfigImage } from './vm-fixtures.ts';

const BOOT_TIMEOUT = 15 * 60_000;
const COMMAND_TIMEOUT = 3 * 60_000;
const GUESTOS_UNITS = [
  'mount-config', 'setup-data-encryption', 'generate-host-ssh-keys', 'setup-lvs', 'bootstrap-ic-node',
  'generate-network-config', 'setup-hostname', 'nftables', 'node_exporter', 'replica', 'orchestrator', 'ssh', 'confirm-boot',
];
const temp = useTempDir('guestos-boot');
let configImage: string;
const vms: SerialVm[] = [];

beforeAll(() => {
  configImage = makeConfigImage(temp.dir);
});
afterAll(async () => {
  for (const vm of vms) await vm.kill();
}, 60_000);

/** Starts a VM once no other test's VM runs (test/support/vm-slot.ts); killing it frees the slot. */
async function startVm(disk: string, log: string, more: Partial<VmSpec> = {}): Promise<SerialVm> {
  const vm = new SerialVm({ disk, configImage, mac: MAC, ...more }, temp.at(log), await takeVmSlot());
  vms.push(vm);
  vm.start();
  return vm;
}

describe('dev image', () => {
  let build: GuestOsImages;
  let vm: SerialVm;
  let upgradeImage: string;

  beforeAll(async () => {
    build = await guestOsImages('dev', [UPGRADE_IMAGE]);
    upgradeImage = build.output(UPGRADE_IMAGE);
    // Under Secure Boot with the test keys enrolled: the whole signed chain boots. The upgrade
    // image is on a medium, and reboots restart the machine with the disk's writes kept.
    vm = await startVm(build.disk, 'dev-serial.log', {
      secureBootVars: await enrolledVars(),
      medium: makeMedium(upgradeImage, temp.dir),
      allowReboot: true,
    });
  }, 3_600_000);
  afterAll(() => vm?.kill(), 60_000);

  it('boots slot A under Secure Boot to a serial login prompt and accepts root/root', async () => {
    await vm.expect(/GuestOS: booting slot A/, BOOT_TIMEOUT);
    await vm.login(HOSTNAME, 'root', 'root', BOOT_TIMEOUT);
    console.log(`GuestOS dev (TCG, Secure Boot): logged in ${vm.elapsed()} s after QEMU started`);
  }, BOOT_TIMEOUT + 2 * COMMAND_TIMEOUT);

  it('was booted with Secure Boot on, as the kernel reports it', async () => {
    // From the kernel's log buffer in the VM (a CI run once lacked the line in the captured console).
    expect(await vm.run('dmesg -t | grep -m1 "secureboot:" || echo "no secureboot line"')).toMatch(/secureboot: Secure boot enabled/);
    // The firmware's variable, read by the running system: SecureBoot = 1.
    expect((await vm.run('od -An -tu1 -j4 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c')).trim()).toBe('1');
  }, COMMAND_TIMEOUT);

  it('finishes every unit without failure', async () => {
    expect(await vm.failedUnits(COMMAND_TIMEOUT)).toEqual({ state: 'running', failed: '' });
    console.log(`GuestOS dev (TCG): system running ${vm.elapsed()} s after QEMU started`);
    const states = await vm.run(`for u in ${GUESTOS_UNITS.join(' ')}; do echo "$u $(systemctl show -P ActiveState $u) $(systemctl show -P Result $u)"; done`);
    expect(states.trim().split('\n')).toEqual(GUESTOS_UNITS.map((unit) => `${unit} active success`));
  }, 2 * COMMAND_TIMEOUT);

  it('runs from /dev/mapper/vroot, read-only, verified with the built root hash', async () => {
    expect((await vm.run('findmnt -n -o SOURCE,OPTIONS /')).trim()).toMatch(/^\/dev\/mapper\/vroot ro,/);
    const rootHash = readFileSync(build.rootHash, 'utf8').trim();
    expect(await vm.run('cat /proc/cmdline')).toContain(`root_hash=${rootHash}`);
    const status = await vm.run('veritysetup status vroot');
    expect(status).toMatch(/status:\s+verified/);
    expect(status).toContain(rootHash);
    expect((await vm.run('touch /etc/probe 2>&1; echo $?')).trim()).toMatch(/Read-only file system\n1$/);
  });

  it('takes its hostname from the configured MAC', async () => {
    expect((await vm.run('hostname')).trim()).toBe(HOSTNAME);
  });

  it('answers with the replica stand-in and runs the orchestrator stand-in', async () => {
    expect((await vm.run('curl -s http://127.0.0.1:8080/')).trim()).toBe(`replica ${'0'.repeat(40)}`);
    expect(await vm.run('journalctl -b -u orchestrator --no-pager -o cat')).toContain(`orchestrator ${'0'.repeat(40)} running`);
  });

  it('made the store, its LVs and the bootstrap data on first boot', async () => {
    // Partition 10 of the GuestOS disk (which is not necessarily vda: the config device may come first).
    const store = (await vm.run('basename $(readlink -f /dev/disk/by-partlabel/store)')).trim();
    expect((await vm.run(`cat /sys/class/block/${store}/partition; lsblk -drno PARTLABEL /dev/${store}`)).trim()).toBe('10\nstore');
    // The partition, LUKS on it, and the three LVs of the store VG on that.
    expect((await vm.run(`lsblk -rno TYPE /dev/${store} | xargs`)).trim()).toBe('part crypt lvm lvm lvm');
    expect((await vm.run('cryptsetup isLuks /dev/disk/by-partlabel/store; echo $?')).trim()).toBe('0');
    expect((await vm.run('lvs --noheadings -o lv_name store | sort | xargs')).trim()).toBe('shared-backup shared-crypto shared-data');
    expect((await vm.run('findmnt -rno SOURCE,TARGET -T /var/lib/ic/data')).trim()).toBe('/dev/mapper/store-shared--data /var/lib/ic/data');
    expect((await vm.run('cat /var/lib/ic/crypto/node-key')).trim()).toBe('crypto-material-from-bootstrap');
    expect(await vm.run('cat /boot/config/accounts_ssh_authorized_keys/admin')).toContain('admin@test');
    expect((await vm.run('test -e /boot/config/CONFIGURED && findmnt -rno TARGET /etc/ssh && ls /etc/ssh/ssh_host_ed25519_key')).trim()).toBe(
      '/etc/ssh\n/etc/ssh/ssh_host_ed25519_key',
    );
  });

  it('has the GuestOS users, the network from network.conf and the firewall', async () => {
    expect((await vm.run('for u in backup readonly admin node_exporter; do getent passwd $u | cut -d: -f1,6; done')).trim().split('\n')).toEqual([
      'backup:/var/lib/backup', 'readonly:/var/lib/readonly', 'admin:/var/lib/admin', 'node_exporter:/home/node_exporter',
    ]);
    expect(await vm.run('ip -4 -o addr show scope global')).toContain('10.0.2.15/24');
    expect(await vm.run('nft list chain inet filter input')).toContain('policy drop');
    expect((await vm.run('stat -c %U /proc/$(systemctl show -P MainPID node_exporter)')).trim()).toBe('node_exporter');
  });

  // The same VM goes on: each case below starts from the state the one before left.
  describe('A/B upgrade with manageboot.sh (issue 12)', () => {
    let version: string;
    let testVersion: string;
    let layoutFacts: Record<string, string>;

    const grubenv = (): Promise<string> => readGrubenv(vm, layoutFacts['partitions.grub.uuid']!);

    const loggedIn = async (what: string): Promise<void> => {
      await vm.login(HOSTNAME, 'root', 'root', BOOT_TIMEOUT);
      console.log(`GuestOS dev (TCG): ${what}: logged in ${vm.elapsed()} s after QEMU started`);
    };

    beforeAll(async () => {
      layoutFacts = (await resolveLayout('guestos')).facts;
      testVersion = versionOf(upgradeImage);
    }, 120_000);

    it('installs the -test image from the medium into slot B, verified, and leaves grubenv alone', async () => {
      version = (await vm.run('cat /opt/ic/share/version.txt')).trim();
      expect(testVersion).toBe(`${version}-test`);
      expect((await vm.run(`${MANAGEBOOT} current; ${MANAGEBOOT} target`)).trim()).toBe('A\nB');
      await installFromMedium(vm, 'guestos', testVersion, 'GuestOS dev', upgradeImage);
      expect(await grubenv()).toBe('boot_alternative=A boot_cycle=stable');
    }, INSTALL_TIMEOUT + COMMAND_TIMEOUT);

    it('commits: GRUB boots slot B once, which runs the -test version and confirms itself', async () => {
      vm.send(`${MANAGEBOOT} upgrade-commit\r`);
      await vm.expect(/GuestOS: booting slot B \(failsafe_check\)/, BOOT_TIMEOUT);
      await loggedIn('slot B, first boot');
      expect((await vm.run('cat /opt/ic/share/version.txt')).trim()).toBe(testVersion);
      expect((await vm.run(`${MANAGEBOOT} current`)).trim()).toBe('B');
      expect(await vm.run('cat /proc/cmdline')).toContain(`root=/dev/disk/by-partuuid/${layoutFacts['partitions.B_root.uuid']}`);
      expect(await vm.run('veritysetup status vroot')).toMatch(/status:\s+verified/);
      expect(await vm.failedUnits(COMMAND_TIMEOUT)).toEqual({ state: 'running', failed: '' });
      // confirm-boot.service, once the IC services run (it may print after the login prompt).
      expect(vm.output).toMatch(/manageboot: slot B confirmed \(boot_cycle failsafe_check -> stable\)/);
      expect(await grubenv()).toBe('boot_alternative=B boot_cycle=stable');
    }, 2 * BOOT_TIMEOUT + 2 * COMMAND_TIMEOUT);

    it('boots slot B again after a reboot, stable', async () => {
      vm.send('reboot\r');
      await vm.expect(/GuestOS: booting slot B \(stable\)/, BOOT_TIMEOUT);
      await loggedIn('slot B, second boot');
      expect((await vm.run(`cat /opt/ic/share/version.txt; ${MANAGEBOOT} current`)).trim()).toBe(`${testVersion}\nB`);
      expect(await grubenv()).toBe('boot_alternative=B boot_cycle=stable');
    }, BOOT_TIMEOUT + 2 * COMMAND_TIMEOUT);

    it('falls back from a committed slot whose root fails verity, and says why', async () => {
      // What install-time verification cannot prevent: the disk changed after it. A corrupted
      // image is refused by upgrade-install itself (test/upgrade/manageboot.test.ts).
      const aRoot = `/dev/disk/by-partuuid/${layoutFacts['partitions.A_root.uuid']}`;
      await commitCorruptedSlot(vm, layoutFacts['partitions.grub.uuid']!, 'A', aRoot);
      vm.send('reboot\r');
      await vm.expect(/GuestOS: booting slot A \(failsafe_check\)/, BOOT_TIMEOUT);
      await vm.expect(/device-mapper: verity: .*data block \d+ is corrupted/, BOOT_TIMEOUT);
      await vm.expect(/\(initramfs\) /, BOOT_TIMEOUT);
      console.log(`GuestOS dev (TCG): slot A stopped in the initramfs ${vm.elapsed()} s after QEMU started`);
      // dev's initramfs waits in its shell (prod panics and reboots: prod-verity.test.ts).
      vm.send('reboot -f\r');
      await vm.expect(/GuestOS: slot A never confirmed its first boot \(failsafe_check\): falling back/, BOOT_TIMEOUT);
      await vm.expect(/GuestOS: booting slot B \(stable\)/, BOOT_TIMEOUT);
      await loggedIn('slot B after the fallback');
      expect((await vm.run(`cat /opt/ic/share/version.txt; ${MANAGEBOOT} current`)).trim()).toBe(`${testVersion}\nB`);
      expect(await grubenv()).toBe('boot_alternative=B boot_cycle=stable');
    }, 2 * BOOT_TIMEOUT + 2 * COMMAND_TIMEOUT);
  });
});

describe('prod image', () => {
  let vm: SerialVm;

  beforeAll(async () => {
    const build = await guestOsImages('prod');
    vm = await startVm(build.disk, 'prod-serial.log');
  }, 3_600_000);
  afterAll(() => vm.kill(), 60_000);

  it('boots its services but offers no console login to root', async () => {
    await vm.expect(/Reached target .*multi-user\.target/, BOOT_TIMEOUT);
    console.log(`GuestOS prod (TCG): multi-user.target ${vm.elapsed()} s after QEMU started`);
    expect(vm.output).not.toMatch(/login: /);
    // Try anyway; nothing on the console may ask for a password or give a shell.
    vm.send('root\r');
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    vm.send('root\r');
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    expect(vm.output).not.toMatch(/login: |Password: |# $|Login incorrect/);
  }, BOOT_TIMEOUT + 2 * COMMAND_TIMEOUT);
});
