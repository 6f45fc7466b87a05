/**
 * The core commands chained as an OS build chains them (rootfs tar -> ext4 -> verity -> disk ->
 * sparse tar.zst), checked end to end with independent tools, and built twice for reproducibility.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../tools/src/lib/repo-root.ts';
import { makeTempDir, runIcos, runIcosAsync, sha256sum, spawnAsync, tool, toolAsync, toolStatus } from './support/tools.ts';

const GUESTOS = path.resolve('partitions/guestos/partitions.csv');
const HOSTOS = path.resolve('partitions/hostos/partitions.csv');
const HOSTOS_VOLUMES = path.resolve('partitions/hostos/volumes.csv');
// IC-OS verity parameters (facts 4.6): the tree lives 128 MiB before the end of the 10 GiB root.
const HASH_OFFSET = '10603200512';
const SALT = '89bc06702975f10b41dd53e26eb9aef0adde93bc13d73e8f26b496dddefe2483';
const VERITY_UUID = '1736291d-aceb-42d7-b044-43ee31d86cd4';

/** Incompressible bytes that are the same in every run (a sha256 chain). */
function pseudoRandomBytes(length: number): Buffer {
  const blocks: Buffer[] = [];
  let block = createHash('sha256').update('icos').digest();
  for (let size = 0; size < length; size += block.length) {
    blocks.push(block);
    block = createHash('sha256').update(block).digest();
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** A small root filesystem tar made by GNU tar, with a /boot tree and an /opt/ic/bin directory. */
function makeRootfsTar(dir: string): string {
  const tree = path.join(dir, 'tree');
  for (const sub of ['boot/efi/EFI/Boot', 'etc', 'opt/ic/bin', 'usr/bin', 'var/log', 'run/lock']) mkdirSync(path.join(tree, sub), { recursive: true });
  writeFileSync(path.join(tree, 'boot/vmlinuz'), pseudoRandomBytes(1024 * 1024));
  writeFileSync(path.join(tree, 'boot/efi/EFI/Boot/bootx64.efi'), 'efi binary stand-in\n');
  writeFileSync(path.join(tree, 'etc/hostname'), 'guestos\n');
  writeFileSync(path.join(tree, 'usr/bin/tool'), '#!/bin/sh\necho tool\n');
  writeFileSync(path.join(tree, 'var/log/boot.log'), 'dropped by --strip /var\n');
  const tar = path.join(dir, 'rootfs-tree.tar');
  execFileSync('tar', ['--sort=name', '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '-C', tree, '-cf', tar, '.']);
  return tar;
}

/** Runs the GuestOS chain in `dir` with the given umask; returns the paths it made. */
async function buildGuestOs(dir: string, tar: string, umask: string) {
  const at = (name: string) => path.join(dir, name);
  // Asynchronous: the chain takes a minute on a loaded machine (see spawnAsync in test/support/tools.ts).
  const icos = async (...args: string[]) => {
    const result = await runIcosAsync(args, { umask, env: { TMPDIR: dir }, cwd: dir });
    expect(result.stderr).not.toMatch(/icos: /);
    expect(result.status).toBe(0);
  };
  writeFileSync(at('replica'), '#!/bin/sh\necho replica 1.0\n');
  writeFileSync(at('version.txt'), '0123456789abcdef0123456789abcdef01234567\n');
  await icos('ext4', '--src', tar, '--size', '3G', '--out', at('root-unsigned.img'), '--strip', '/boot', '--strip', '/var', '--strip', '/run',
    '--extra', `${at('replica')}:/opt/ic/bin/replica:0755`, '--extra', `${at('version.txt')}:/opt/ic/share-version.txt:0644`);
  await icos('verity', '--image', at('root-unsigned.img'), '--out', at('root.img'), '--hash-offset', HASH_OFFSET, '--salt', SALT,
    '--uuid', VERITY_UUID, '--root-hash-out', at('root-hash'));
  writeFileSync(at('boot_args'), `BOOT_ARGS_A="root=/dev/vda5 root_hash=${readFileSync(at('root-hash'), 'utf8').trim()}"\n`);
  await icos('ext4', '--src', tar, '--subdir', '/boot', '--size', '1G', '--out', at('boot.img'), '--extra', `${at('boot_args')}:/boot_args:0644`);
  await icos('vfat', '--src', tar, '--subdir', '/boot/efi', '--size', '100M', '--out', at('esp.img'));
  await icos('disk', '--partitions', GUESTOS, '--out', at('disk.img'), '--expand', '50G',
    '--part', `esp=${at('esp.img')}`, '--part', `A_boot=${at('boot.img')}`, '--part', `A_root=${at('root.img')}`);
  await icos('pack', '--out', at('disk-img.tar.zst'), '--member', `disk.img=${at('disk.img')}`);
  await icos('upgrade-image', '--os', 'example', '--boot', at('boot.img'), '--root', at('root.img'), '--version', at('version.txt'), '--key', path.join(REPO_ROOT, 'keys/test-keys/release.key'), '--out', at('update-img.tar.zst'));
  return { diskImage: at('disk-img.tar.zst'), updateImage: at('update-img.tar.zst'), rootHash: at('root-hash') };
}

/** Attaches a byte range of an image read-only to a loop device for the duration of `use`. */
async function withLoop<T>(image: string, offset: number, size: number, use: (device: string) => T | Promise<T>): Promise<T> {
  const device = tool('losetup', ['-r', '-f', '--show', '-o', String(offset), '--sizelimit', String(size), image]).trim();
  try {
    return await use(device);
  } finally {
    toolStatus('losetup', ['-d', device]);
  }
}

describe('GuestOS chain: ext4 -> verity -> disk -> disk-img.tar.zst', () => {
  const first = makeTempDir('pipeline-a');
  const second = makeTempDir('pipeline-b');
  let outputs: Awaited<ReturnType<typeof buildGuestOs>>;
  let extracted: string;

  beforeAll(async () => {
    const tar = makeRootfsTar(first.dir);
    outputs = await buildGuestOs(first.dir, tar, '022');
    extracted = path.join(first.dir, 'extracted');
    mkdirSync(extracted);
    await toolAsync('sh', ['-c', `zstd -dc "${outputs.diskImage}" | tar -xSf - -C "${extracted}"`]);
  }, 600_000);
  afterAll(() => {
    first.remove();
    second.remove();
  });

  it('extracts with GNU tar to a 50 GiB GPT disk that sfdisk and sgdisk accept', () => {
    const disk = path.join(extracted, 'disk.img');
    expect(tool('stat', ['-c', '%s', disk]).trim()).toBe(String(50 * 1024 ** 3));
    const names = JSON.parse(tool('sfdisk', ['--json', disk])).partitiontable.partitions.map((p: { name: string }) => p.name);
    expect(names).toEqual(['esp', 'grub', 'config', 'A_boot', 'A_root', 'A_var', 'B_boot', 'B_root', 'B_var']);
    expect(toolStatus('sgdisk', ['-v', disk]).stdout).toContain('No problems found');
  });

  it('holds a root partition that veritysetup verifies with the root hash, and an ext4 with the injected binary', async () => {
    const disk = path.join(extracted, 'disk.img');
    const rootHash = readFileSync(outputs.rootHash, 'utf8').trim();
    await withLoop(disk, 2713600 * 512, 20971520 * 512, async (device) => {
      const verify = await spawnAsync('veritysetup', ['verify', device, device, rootHash, `--hash-offset=${HASH_OFFSET}`]);
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);
      expect(toolStatus('e2fsck', ['-fn', device]).status).toBe(0);
      expect(tool('debugfs', ['-R', 'cat /opt/ic/bin/replica', device])).toBe('#!/bin/sh\necho replica 1.0\n');
      expect(tool('debugfs', ['-R', 'ls -p /var', device]).trim().split('\n').map((l) => l.split('/')[5])).toEqual(['.', '..']);
    });
  });

  it('holds a boot partition with the kernel and boot_args naming that root hash', async () => {
    const disk = path.join(extracted, 'disk.img');
    const rootHash = readFileSync(outputs.rootHash, 'utf8').trim();
    await withLoop(disk, 616448 * 512, 2097152 * 512, (device) => {
      expect(toolStatus('e2fsck', ['-fn', device]).status).toBe(0);
      expect(tool('debugfs', ['-R', 'cat /boot_args', device])).toContain(`root_hash=${rootHash}`);
      expect(tool('debugfs', ['-R', 'stat /vmlinuz', device])).toContain('Size: 1048576');
    });
  });

  it('lists update-img.tar.zst members in IC-OS order', () => {
    const listing = execFileSync('sh', ['-c', `zstd -dc "${outputs.updateImage}" | tar -tf -`], { encoding: 'utf8' });
    expect(listing.trim().split('\n')).toEqual(['MANIFEST.TXT', 'MANIFEST.TXT.minisig', 'boot.img', 'root.img', 'VERSION.TXT']);
  });

  it('builds the same disk-img.tar.zst and update-img.tar.zst again from another folder and umask', async () => {
    const tar = makeRootfsTar(second.dir); // a fresh tree: new inodes, new host ctimes
    const again = await buildGuestOs(second.dir, tar, '077');
    expect(sha256sum(again.diskImage)).toBe(sha256sum(outputs.diskImage));
    expect(sha256sum(again.updateImage)).toBe(sha256sum(outputs.updateImage));
  }, 600_000);
});

describe('HostOS chain: ext4 volumes -> LVM -> disk', () => {
  const temp = makeTempDir('pipeline-hostos');
  afterAll(() => temp.remove());

  it('places the LVM image in hostlvm where LVM finds every volume', async () => {
    const at = (name: string) => path.join(temp.dir, name);
    const icos = async (...args: string[]) => {
      const result = await runIcosAsync(args, { cwd: temp.dir });
      expect(result.stderr).not.toMatch(/icos: /);
      expect(result.status).toBe(0);
    };
    await icos('ext4', '--size', '100M', '--out', at('config.img'));
    await icos('lvm', '--volumes', HOSTOS_VOLUMES, '--vg-name', 'hostlvm', '--vg-uuid', '4c7GVZ-Df82-QEcJ-xXtV-JgRL-IjLE-hK0FgA',
      '--pv-uuid', 'eu0VQE-HlTi-EyRc-GceP-xZtn-3j6t-iqEwyv', '--out', at('hostlvm.img'), '--volume', `config=${at('config.img')}`);
    await icos('disk', '--partitions', HOSTOS, '--out', at('disk.img'), '--part', `hostlvm=${at('hostlvm.img')}`);
    await withLoop(at('disk.img'), 411648 * 512, 209715200 * 512, (device) => {
      const config = `devices { filter=["a|^${device}$|","r|.*|"] use_devicesfile=0 obtain_device_list_from_udev=0 }`;
      const report = JSON.parse(tool('lvs', ['--readonly', '--config', config, '--reportformat', 'json', '-o', 'vg_name,lv_name,seg_pe_ranges']));
      const lvs = report.report[0].lv.map((lv: { lv_name: string; seg_pe_ranges: string }) => `${lv.lv_name} ${lv.seg_pe_ranges}`);
      expect(lvs).toContain(`config ${device}:0-24`);
      expect(lvs).toContain(`guestos ${device}:10777-23576`);
      expect(lvs).toHaveLength(8);
    });
  });
});
