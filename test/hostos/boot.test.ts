/**
 * HostOS in QEMU (TCG, q35, OVMF), driven through the serial console: dev boots slot A from the
 * LVM on its disk with a dm-verity root and shows what the HostOS documents describe (users,
 * hostname, firewall tables, node_exporter over TLS) and runs its GuestOS VM; prod reaches
 * multi-user with no console login. Prod's disk has no node config: HostOS says so and boots
 * anyway. Dev's disk is a node's (node-disk.ts): a deployment.json in the config LV (qemu CPU,
 * small memory) and the GuestOS dev disk in the guestos LV, so one boot serves both. The dev VM
 * then upgrades itself A -> B with manageboot.sh from a medium, boots B twice, and falls back to B
 * from a committed slot A whose root fails verity.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveLayout } from '../../tools/src/os/layout.ts';
import { deterministicMac } from '../../tools/src/ic-node/deterministic-mac.ts';
import { buildEnv, DISK, REPO } from '../support/env-build.ts';
import { commitCorruptedSlot, INSTALL_TIMEOUT, installFromMedium, MANAGEBOOT, readGrubenv, UPGRADE_IMAGE, versionOf } from '../support/ab-upgrade.ts';
import { makeMedium } from '../support/medium.ts';
import { SerialVm, type VmSpec } from '../support/serial-vm.ts';
import { tool, useTempDir } from '../support/tools.ts';
import { takeVmSlot } from '../support/vm-slot.ts';
import { writeNodeDisk } from './node-disk.ts';
import { readRuleset } from './nftables.ts';

const BOOT_TIMEOUT = 15 * 60_000;
const COMMAND_TIMEOUT = 3 * 60_000;
const MAC = '52:54:00:12:34:56';
const HOSTNAME = `host-${MAC.replaceAll(':', '')}`;
const temp = useTempDir('hostos-boot');
const LOG_DIR = path.join(REPO, 'build', 'test-logs', 'hostos');

/** The HostOS documents' firewall tables (ic-os-docs 001/002): input by family, output for both. */
const INPUT_PORTS = [
  'ip saddr @rfc1918 tcp dport 22 accept',
  'ip saddr @rfc1918 udp dport 67 accept',
  'ip6 saddr @ipv6_delegated tcp dport 22 accept',
  'ip6 saddr @ipv6_delegated tcp dport 9100 accept',
  'ip6 saddr @ipv6_delegated tcp dport 19531 accept',
];
const OUTPUT_PORTS = ['tcp dport 53 accept', 'udp dport 53 accept', 'udp dport 123 accept', 'tcp dport 80 accept', 'tcp dport 443 accept'];
/** What every stateful host firewall needs besides the ports: loopback, replies, ICMP. */
const INPUT_BASE = ['meta iif lo accept', 'ct state established,related accept', 'ct state invalid drop', 'meta l4proto icmp accept', 'meta l4proto ipv6-icmp accept'];
const OUTPUT_BASE = ['meta oif lo accept', 'ct state established,related accept', 'meta l4proto icmp accept', 'meta l4proto ipv6-icmp accept'];

/** The node config of the dev VM: software CPU (no KVM in TCG), small memory, our NIC's MAC. */
const DEPLOYMENT = { deployment: { name: 'testnet', mgmt_mac: MAC.toUpperCase() }, resources: { cpu: 'qemu', memory: '512M' } };
const GUEST_MAC = deterministicMac({ mgmtMac: MAC, deployment: 'testnet', nodeType: 'guestos', ipVersion: 6 });
const GUEST_SERIAL_LOG = '/var/log/libvirt/qemu/guestos-serial.log';

/**
 * Boots the env's disk (dev: as a node's, with config and GuestOS, the -test upgrade image on a
 * medium, and each reboot a fresh QEMU on the same disk); also returns the root hash of the same build.
 */
async function startHostOs(env: 'dev' | 'prod', log: string): Promise<{ vm: SerialVm; rootHash: string; upgradeImage: string }> {
  const build = await buildEnv({ os: 'hostos', env, unpack: [DISK], outputs: env === 'dev' ? [UPGRADE_IMAGE] : [] });
  const rootHash = readFileSync(build.output('partition-root-hash'), 'utf8').trim();
  const upgradeImage = build.output(UPGRADE_IMAGE);
  let disk = build.images['disk.img']!;
  let more: Partial<VmSpec> = {};
  if (env === 'dev') {
    more = { medium: makeMedium(upgradeImage, temp.dir), allowReboot: true };
    const guest = await buildEnv({ os: 'guestos', env: 'dev', unpack: [DISK] });
    disk = await writeNodeDisk({
      hostDisk: disk,
      guestDisk: guest.images['disk.img']!,
      config: { 'deployment.json': JSON.stringify(DEPLOYMENT) },
      out: temp.at('node-disk.img'),
    });
  }
  // Kept after the run (build/ is git-ignored): the console is what explains a failure here.
  mkdirSync(LOG_DIR, { recursive: true });
  const vm = new SerialVm({ disk, mac: MAC, memory: '3G', ...more }, path.join(LOG_DIR, log), await takeVmSlot());
  vm.start();
  return { vm, rootHash, upgradeImage };
}

/** Polls a shell condition in the VM every 5 s until it prints "yes". */
async function waitInVm(vm: SerialVm, condition: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await vm.run(`if ${condition}; then echo yes; else echo no; fi`)).trim() !== 'yes') {
    if (Date.now() > deadline) throw new Error(`${condition}: not true after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  }
}

describe('HostOS dev', () => {
  let vm: SerialVm;
  let rootHash: string;
  let upgradeImage: string;

  beforeAll(async () => {
    ({ vm, rootHash, upgradeImage } = await startHostOs('dev', 'dev-serial.log'));
  }, 3_600_000);
  afterAll(() => vm?.kill(), 60_000);

  it('boots slot A from the LVM, says what node config is missing, and lets root log in', async () => {
    await vm.expect(/HostOS: booting slot A/, BOOT_TIMEOUT);
    await vm.expect(/verity-root: opened \S*A_root\S* as \/dev\/mapper\/vroot/, BOOT_TIMEOUT);
    await vm.expect(/config\.ini is missing/, BOOT_TIMEOUT);
    expect(vm.output).not.toMatch(/deployment\.json is missing/);
    await vm.login(HOSTNAME, 'root', 'root', BOOT_TIMEOUT);
    console.log(`HostOS dev (TCG): logged in ${vm.elapsed()} s after QEMU started`);
  }, BOOT_TIMEOUT + 2 * COMMAND_TIMEOUT);

  it('finishes every unit without failure', async () => {
    expect(await vm.failedUnits(COMMAND_TIMEOUT)).toEqual({ state: 'running', failed: '' });
    console.log(`HostOS dev (TCG): system running ${vm.elapsed()} s after QEMU started`);
  }, 2 * COMMAND_TIMEOUT);

  it('runs read-only from the verity device of hostlvm-A_root, with the built root hash', async () => {
    expect((await vm.run('findmnt -n -o SOURCE,OPTIONS /')).trim()).toMatch(/^\/dev\/mapper\/vroot ro,.*errors=remount-ro/);
    const status = await vm.run('veritysetup status vroot');
    expect(status).toMatch(/status:\s+verified/);
    expect(status).toContain(rootHash);
    expect(status).toMatch(/data device:\s+\/dev\/mapper\/hostlvm-A_root/);
    expect((await vm.run('touch /etc/probe 2>&1; echo $?')).trim()).toMatch(/Read-only file system\n1$/);
    expect((await vm.run('findmnt -n -o SOURCE,OPTIONS /boot')).trim()).toMatch(/^\/dev\/mapper\/hostlvm-A_boot ro,/);
  });

  it('lists the hostlvm VG with every volume of volumes.csv (lvs in the guest)', async () => {
    const layout = await resolveLayout('hostos');
    const lvm = layout.partitions.find((p) => p.kind === 'lvm');
    const names = lvm?.kind === 'lvm' ? lvm.volumes.map((v) => v.name).sort() : [];
    expect((await vm.run('lvs --noheadings -o lv_name hostlvm 2>/dev/null | sort | xargs')).trim()).toBe(names.join(' '));
  });

  it('is named after the NIC\'s MAC and has the HostOS users with their homes and shells', async () => {
    expect((await vm.run('hostname')).trim()).toBe(HOSTNAME);
    const users = await vm.run('for u in backup readonly admin node_exporter; do getent passwd $u | cut -d: -f1,6,7; done');
    expect(users.trim().split('\n')).toEqual([
      'backup:/var/lib/backup:/bin/bash',
      'readonly:/var/lib/readonly:/bin/bash',
      'admin:/var/lib/admin:/bin/bash',
      'node_exporter:/home/node_exporter:/usr/sbin/nologin',
    ]);
  });

  it('has exactly the firewall of the HostOS documents (nft -j list ruleset)', async () => {
    const ruleset = readRuleset(await vm.run('nft -j list ruleset'));
    expect(Object.keys(ruleset.chains).sort()).toEqual(['forward', 'input', 'output']);
    for (const chain of Object.values(ruleset.chains)) expect(chain.policy).toBe('drop');
    expect(ruleset.chains.input!.rules).toEqual([...INPUT_BASE, ...INPUT_PORTS]);
    expect(ruleset.chains.output!.rules).toEqual([...OUTPUT_BASE, ...OUTPUT_PORTS]);
    expect(ruleset.chains.forward!.rules).toEqual([]);
    expect(ruleset.sets.rfc1918).toEqual(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
    // No config.ini: no delegated IPv6 subnet, so IPv6 admits nothing.
    expect(ruleset.sets.ipv6_delegated).toEqual([]);
  });

  it('serves node_exporter on 9100 over TLS only, and journal-gatewayd on 19531', async () => {
    expect(await vm.run('curl -sk --max-time 30 https://localhost:9100/metrics | grep -c "^node_" ')).toMatch(/^[1-9]\d*/);
    expect((await vm.run('curl -s --max-time 10 -o /dev/null -w "%{http_code}" http://localhost:9100/metrics; echo')).trim()).not.toBe('200');
    expect(await vm.run('echo | openssl s_client -connect localhost:9100 2>/dev/null | grep -c "BEGIN CERTIFICATE"')).toMatch(/^1/);
    expect((await vm.run('stat -c %U /proc/$(systemctl show -P MainPID node_exporter)')).trim()).toBe('node_exporter');
    expect((await vm.run('systemctl is-active systemd-journal-gatewayd.socket')).trim()).toBe('active');
    expect((await vm.run('ss -Hltn "sport = :19531" | wc -l')).trim()).not.toBe('0');
  });

  it('has libvirt, QEMU and the bridge of the physical NIC', async () => {
    expect((await vm.run('command -v virsh qemu-system-x86_64 | wc -l')).trim()).toBe('2');
    expect((await vm.run('ip -o link show master br6 | wc -l')).trim()).not.toBe('0');
  });

  it("runs icos's node verbs on its own node (Node 18 from Debian): the upstream MAC vector", async () => {
    expect((await vm.run('node --version')).trim()).toMatch(/^v18\./);
    const mac = 'node /opt/ic/bin/icos-runtime.mjs mac --mgmt-mac 70-B5-E8-E8-25-DE --deployment testnet --node-type hostos --ip-version 4';
    expect((await vm.run(mac)).trim()).toBe('4a:00:f8:87:a4:8a');
  });

  it("puts the host on br6 with the scheme's HostOS MAC (IPv6 interface) of the management MAC", async () => {
    const mac = deterministicMac({ mgmtMac: MAC, deployment: 'testnet', nodeType: 'hostos', ipVersion: 6 });
    expect((await vm.run('cat /sys/class/net/br6/address')).trim()).toBe(mac);
  });

  it('answers VSOCK port 19090 through socat and the agent, refusing a peer that is not its GuestOS', async () => {
    // The loopback transport gives this host CID 1: a real VSOCK peer the agent must turn away.
    await vm.run('modprobe vsock_loopback');
    const request = JSON.stringify({ sender_cid: 1, message: 'GetHostOSVersion' });
    const reply = await vm.run(`echo '${request}' | socat -t 150 - VSOCK-CONNECT:1:19090 2>&1`, 4 * 60_000);
    const journal = await vm.run('journalctl -b -u vsock-agent --no-pager -o cat');
    expect(reply.trim(), journal).toBe(JSON.stringify({ status: 'refused', reason: "peer CID 1 is not this host's GuestOS (CID 3)" }));
    expect(journal).toMatch(/refused request from CID 1: peer CID 1 is not this host's GuestOS/);
  }, 5 * 60_000);

  describe('its GuestOS VM', () => {
    it('is defined and started by guestos.service from the config LV, on br6 with the scheme\'s MAC', async () => {
      await waitInVm(vm, '[ "$(virsh -c qemu:///system domstate guestos 2>/dev/null)" = running ]', 5 * 60_000);
      expect(vm.output).toMatch(/guest-vm: \/run\/ic-node\/guestos\.xml: guestos, qemu variant \(resources\.cpu is "qemu"\), 1 vCPU, 512 MiB/);
      expect(vm.output).toMatch(/guestos: VM guestos defined from \/run\/ic-node\/guestos\.xml and running/);
      expect(await vm.run('virsh -c qemu:///system list --name')).toMatch(/^guestos$/m);
      const interfaces = await vm.run('virsh -c qemu:///system domiflist guestos');
      expect(interfaces).toMatch(new RegExp(`bridge\\s+br6\\s+virtio\\s+${GUEST_MAC}`));
      console.log(`HostOS dev (TCG): GuestOS VM running ${vm.elapsed()} s after QEMU started`);
    }, 6 * 60_000);

    it("writes GuestOS's serial output, up to its bootloader, to the domain's serial log", async () => {
      await waitInVm(vm, `grep -q "GuestOS: booting slot A" ${GUEST_SERIAL_LOG}`, 15 * 60_000);
      console.log(`HostOS dev (TCG): nested GuestOS reached its bootloader ${vm.elapsed()} s after QEMU started`);
    }, 16 * 60_000);

    it('is started again when it dies', async () => {
      await vm.run('virsh -c qemu:///system destroy guestos');
      await vm.expect(/guestos: VM guestos is shut off: restarting it/, 2 * 60_000);
      await waitInVm(vm, '[ "$(virsh -c qemu:///system domstate guestos 2>/dev/null)" = running ]', 3 * 60_000);
    }, 6 * 60_000);
  });

  // The same VM goes on: each case below starts from the state the one before left.
  describe('A/B upgrade with manageboot.sh (issue 12)', () => {
    let version: string;
    let testVersion: string;
    let layoutFacts: Record<string, string>;

    const grubenv = (): Promise<string> => readGrubenv(vm, layoutFacts['partitions.grub.uuid']!);

    beforeAll(async () => {
      layoutFacts = (await resolveLayout('hostos')).facts;
      testVersion = versionOf(upgradeImage);
    }, 120_000);

    it('installs the -test image from the medium into slot B\'s volumes, verified, and commits it', async () => {
      version = (await vm.run('cat /opt/ic/share/version.txt')).trim();
      expect(testVersion).toBe(`${version}-test`);
      expect((await vm.run(`${MANAGEBOOT} current; ${MANAGEBOOT} target`)).trim()).toBe('A\nB');
      // The nested GuestOS would take most of the one emulated CPU: paused while HostOS installs.
      await vm.run('virsh -c qemu:///system suspend guestos');
      await installFromMedium(vm, 'hostos', testVersion, 'HostOS dev', upgradeImage);
      await vm.run('virsh -c qemu:///system resume guestos');
      // guestos.service watched the paused VM without trying to start it again.
      expect(vm.output).not.toMatch(/guestos: VM guestos is paused: restarting it|Domain is already active/);
      expect((await vm.run('virsh -c qemu:///system domstate guestos')).trim()).toBe('running');
      expect(await grubenv()).toBe('boot_alternative=A boot_cycle=stable');
      expect(await vm.run(`${MANAGEBOOT} upgrade-commit --no-reboot 2>&1`)).toMatch(/slot B \(\S+-test\) boots next, once/);
      expect(await grubenv()).toBe('boot_alternative=B boot_cycle=first_boot');
    }, INSTALL_TIMEOUT + 4 * COMMAND_TIMEOUT);

    // One reboot serves both the unit's stop (its timeout from STOP_TIMEOUT, then forced off) and
    // the ordering before reboot: starting the nested GuestOS once more costs a minute under TCG.
    it('shuts its GuestOS VM down (or forces it off after STOP_TIMEOUT) before HostOS reboots', async () => {
      await vm.run('systemctl set-environment STOP_TIMEOUT=10');
      vm.send('systemctl reboot\r');
      await vm.expect(/guestos: shutting VM guestos down \(up to 10 s\)/, 3 * 60_000);
      await vm.expect(/guestos: VM guestos (shut down after \d+ s|did not shut down in 10 s: forcing it off)/, 3 * 60_000);
      await vm.expect(/reboot: Restarting system/, 5 * 60_000);
    }, 12 * 60_000);

    it('boots slot B once, which runs the -test version, starts its GuestOS VM and confirms itself', async () => {
      await vm.expect(/HostOS: booting slot B \(failsafe_check\)/, BOOT_TIMEOUT);
      await vm.expect(/verity-root: opened \S*B_root\S* as \/dev\/mapper\/vroot/, BOOT_TIMEOUT);
      await vm.login(HOSTNAME, 'root', 'root', BOOT_TIMEOUT);
      console.log(`HostOS dev (TCG): slot B, first boot: logged in ${vm.elapsed()} s after QEMU started`);
      expect((await vm.run(`cat /opt/ic/share/version.txt; ${MANAGEBOOT} current`)).trim()).toBe(`${testVersion}\nB`);
      const status = await vm.run('veritysetup status vroot');
      expect(status).toMatch(/status:\s+verified/);
      expect(status).toMatch(/data device:\s+\/dev\/mapper\/hostlvm-B_root/);
      // confirm-boot.service, after guestos.service (it may print after the login prompt).
      expect(await grubenv()).toBe('boot_alternative=B boot_cycle=stable');
      expect(vm.output).toMatch(/manageboot: slot B confirmed \(boot_cycle failsafe_check -> stable\)/);
      // confirm-boot follows guestos.service's start, which comes before the VM runs: polled.
      await waitInVm(vm, '[ "$(virsh -c qemu:///system domstate guestos 2>/dev/null)" = running ]', 5 * 60_000);
    }, BOOT_TIMEOUT + 4 * COMMAND_TIMEOUT + 5 * 60_000);

    /** Reboots HostOS, its GuestOS VM given 10 s to shut down (set-environment lasts one boot). */
    const reboot = async (): Promise<void> => {
      await vm.run('systemctl set-environment STOP_TIMEOUT=10');
      vm.send('systemctl reboot\r');
    };

    it('boots slot B again after a reboot, stable', async () => {
      await reboot();
      await vm.expect(/HostOS: booting slot B \(stable\)/, BOOT_TIMEOUT);
      await vm.login(HOSTNAME, 'root', 'root', BOOT_TIMEOUT);
      console.log(`HostOS dev (TCG): slot B, second boot: logged in ${vm.elapsed()} s after QEMU started`);
      expect((await vm.run(`cat /opt/ic/share/version.txt; ${MANAGEBOOT} current`)).trim()).toBe(`${testVersion}\nB`);
      expect(await grubenv()).toBe('boot_alternative=B boot_cycle=stable');
    }, BOOT_TIMEOUT + 4 * COMMAND_TIMEOUT);

    it('falls back from a committed slot whose root fails verity, and says why', async () => {
      // What install-time verification cannot prevent: the disk changed after it.
      const aRoot = `/dev/${layoutFacts['vg.name']}/A_root`;
      await commitCorruptedSlot(vm, layoutFacts['partitions.grub.uuid']!, 'A', aRoot);
      await reboot();
      await vm.expect(/HostOS: booting slot A \(failsafe_check\)/, BOOT_TIMEOUT);
      await vm.expect(/device-mapper: verity: .*data block \d+ is corrupted/, BOOT_TIMEOUT);
      await vm.expect(/\(initramfs\) /, BOOT_TIMEOUT);
      // dev's initramfs waits in its shell (prod panics and reboots).
      vm.send('reboot -f\r');
      await vm.expect(/HostOS: slot A never confirmed its first boot \(failsafe_check\): falling back/, BOOT_TIMEOUT);
      await vm.expect(/HostOS: booting slot B \(stable\)/, BOOT_TIMEOUT);
      await vm.login(HOSTNAME, 'root', 'root', BOOT_TIMEOUT);
      console.log(`HostOS dev (TCG): slot B after the fallback: logged in ${vm.elapsed()} s after QEMU started`);
      expect((await vm.run(`cat /opt/ic/share/version.txt; ${MANAGEBOOT} current`)).trim()).toBe(`${testVersion}\nB`);
      expect(await grubenv()).toBe('boot_alternative=B boot_cycle=stable');
    }, 2 * BOOT_TIMEOUT + 4 * COMMAND_TIMEOUT);
  });
});

describe('HostOS prod root filesystem', () => {
  it('holds none of the dev packages (packages.dev)', async () => {
    const tar = (await buildEnv({ os: 'hostos', env: 'prod', unpack: [] })).output('rootfs-tree.tar');
    const devOnly = readFileSync(path.join(REPO, 'envs/hostos/context/packages.dev'), 'utf8')
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim())
      .filter((name) => name !== '');
    expect(devOnly.length).toBeGreaterThan(0);
    const installed = tool('tar', ['-xOf', tar, 'var/lib/dpkg/status'])
      .split('\n')
      .filter((line) => line.startsWith('Package: '))
      .map((line) => line.slice('Package: '.length));
    expect(installed.length).toBeGreaterThan(100);
    expect(devOnly.filter((name) => installed.includes(name))).toEqual([]);
  }, 3_600_000);
});

describe('HostOS prod', () => {
  let vm: SerialVm;

  beforeAll(async () => {
    ({ vm } = await startHostOs('prod', 'prod-serial.log'));
  }, 3_600_000);
  afterAll(() => vm?.kill(), 60_000);

  it('boots its services but offers no console login', async () => {
    await vm.expect(/Reached target .*multi-user\.target/, BOOT_TIMEOUT);
    console.log(`HostOS prod (TCG): multi-user.target ${vm.elapsed()} s after QEMU started`);
    expect(vm.output).not.toMatch(/login: /);
    vm.send('root\r');
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    vm.send('root\r');
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    expect(vm.output).not.toMatch(/login: |Password: |# $|Login incorrect/);
  }, BOOT_TIMEOUT + 2 * COMMAND_TIMEOUT);
});
