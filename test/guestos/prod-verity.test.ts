/**
 * prod never gives a shell (issue 11): a GuestOS prod disk whose root partition has one flipped
 * byte stops with dm-verity's message and reboots (QEMU, started with -no-reboot by icos launch,
 * then exits by itself); no `(initramfs)` prompt ever appears. dev keeps the rescue shell
 * (boot.test.ts, the upgrade case "falls back from a committed slot whose root fails verity"). The switch is
 * components/early-boot/no-shell/prod-panic.conf, in prod's initramfs only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnv, DISK } from '../support/env-build.ts';
import { SerialVm } from '../support/serial-vm.ts';
import { toolAsync, useTempDir } from '../support/tools.ts';
import { takeVmSlot } from '../support/vm-slot.ts';
import { overlayWithFlippedByte } from './vm-fixtures.ts';

/** From QEMU's start to the verity failure (TCG on a loaded two-core machine is slow). */
const BOOT_TIMEOUT = 10 * 60_000;
/** From the verity failure to QEMU's exit: prod-panic.conf's 10 s and some slack. */
const REBOOT_TIMEOUT = 60_000;
const PANIC_CONF = 'conf/conf.d/prod-panic.conf';

const temp = useTempDir('guestos-prod-verity');

const trees = new Map<string, Promise<string>>();

/** An env's container root tree (rootfs-tree.tar), built once per test file. */
function rootTree(env: 'prod' | 'dev'): Promise<string> {
  if (!trees.has(env)) trees.set(env, buildEnv({ os: 'guestos', env, unpack: [] }).then((build) => build.output('rootfs-tree.tar')));
  return trees.get(env)!;
}

/** Whether a file name or content in the initramfs of an env's root tree holds `text` (tar, zstd, grep). */
async function initramfsMentions(env: 'prod' | 'dev', text: string): Promise<boolean> {
  const tree = await rootTree(env);
  const initrd = (await toolAsync('tar', ['-tf', tree, '--wildcards', 'boot/initrd.img-*'])).trim();
  // Debian's initramfs here is one zstd-compressed newc cpio: names and file bytes are plain text.
  const script = 'tar -xOf "$1" "$2" | zstd -dc | grep -acF -- "$3" || true';
  return Number((await toolAsync('sh', ['-c', script, 'sh', tree, initrd, text])).trim()) > 0;
}

describe('prod and dev initramfs', () => {
  it('prod carries the panic= setting, dev does not; both carry the kernel panic timeout script', async () => {
    expect(await initramfsMentions('prod', PANIC_CONF)).toBe(true);
    expect(await initramfsMentions('prod', 'panic=10')).toBe(true);
    expect(await initramfsMentions('dev', PANIC_CONF)).toBe(false);
    for (const env of ['prod', 'dev'] as const) expect(await initramfsMentions(env, 'scripts/init-top/panic-timeout')).toBe(true);
  }, 3_600_000);
});

describe('prod image with one byte of the root partition flipped', () => {
  let vm: SerialVm;

  beforeAll(async () => {
    // Only the disk: the partition images are not needed here.
    const disk = (await buildEnv({ os: 'guestos', env: 'prod', unpack: [DISK] })).images['disk.img']!;
    // Slot A's root partition, from the disk's own GPT as sfdisk reads it.
    const table = JSON.parse(await toolAsync('sfdisk', ['--json', disk])).partitiontable;
    const root = (table.partitions as { name?: string; start: number }[]).find((p) => p.name === 'A_root');
    if (root === undefined) throw new Error(`${disk}: sfdisk lists no partition named A_root`);
    // A byte of the ext4 superblock (1024 bytes into the file system): the first block anything
    // reads from the opened root (udev's probe, then the mount).
    const offset = root.start * (table.sectorsize ?? 512) + 1024 + 0x10;
    vm = new SerialVm({ disk: overlayWithFlippedByte(disk, offset, temp.dir) }, temp.at('prod-corrupt-serial.log'), await takeVmSlot());
    vm.start();
  }, 3_600_000);
  afterAll(() => vm?.kill(), 60_000);

  it('prints the verity failure, then reboots (QEMU exits) without a shell', async () => {
    await vm.expect(/panic-timeout: no rescue shell; a boot failure or kernel panic reboots after 10 s/, BOOT_TIMEOUT);
    await vm.expect(/device-mapper: verity: .*data block \d+ is corrupted/, BOOT_TIMEOUT);
    await vm.expect(/Kernel panic - not syncing: dm-verity device corrupted/, BOOT_TIMEOUT);
    const failedAt = vm.elapsed();
    await vm.expect(/Rebooting in 10 seconds/, REBOOT_TIMEOUT);
    await vm.expect(/\[qemu exited: \w+\]/, REBOOT_TIMEOUT);
    console.log(`GuestOS prod corrupted root (TCG): verity panic ${failedAt} s, QEMU gone ${vm.elapsed()} s after it started`);
    expect(vm.output).not.toMatch(/\(initramfs\)|Welcome to .*Debian|login: /);
  }, BOOT_TIMEOUT + 2 * REBOOT_TIMEOUT);
});
