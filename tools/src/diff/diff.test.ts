import { existsSync } from 'node:fs';
import { copyFile, mkdir, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { icosInProcess, tool, useTempDir } from '../../../test/support/tools.ts';

/**
 * `icos diff` on small fixtures made with the system's own tools (mke2fs, debugfs, sfdisk,
 * veritysetup, mkfs.fat, mtools) and icos's pack and lvm kinds; each pair differs in one thing
 * and the output must name where.
 */

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MiB = 1024 * 1024;
const FS_UUID = '6b1d2c1e-8a4f-4d57-9f1e-3c2b1a0f9e8d';
const { dir, at } = useTempDir('diff');

/** An 8 MiB ext4 with /etc/foo (0600, mtime 0) and a symlink, the same bytes on every run. */
async function makeExt4(file: string): Promise<void> {
  const tree = at(`tree-${path.basename(file)}`);
  await mkdir(path.join(tree, 'etc'), { recursive: true });
  await writeFile(path.join(tree, 'etc/foo'), 'hello world\n', { mode: 0o600 });
  tool('mke2fs', ['-q', '-t', 'ext4', '-b', '4096', '-d', tree, '-U', FS_UUID, '-E', `hash_seed=${FS_UUID},root_owner=0:0`, '-F', file, '8M']);
  // Times as a build sets them: every inode's to 0, so both images of a pair start out identical.
  const inodes = tool('debugfs', ['-R', 'ls -p /etc', file]).split('\n').filter((l) => l.startsWith('/')).map((l) => l.split('/')[1]!);
  const requests = ['2', '11', ...inodes].flatMap((inode) => ['mtime', 'ctime', 'atime', 'crtime'].map((field) => `sif <${inode}> ${field} 0`));
  tool('debugfs', ['-w', '-f', '-', file], { input: `${requests.join('\n')}\n` });
}

async function debugfsWrite(file: string, request: string): Promise<void> {
  tool('debugfs', ['-w', '-R', request, file]);
}

async function diff(...args: string[]) {
  return icosInProcess(['diff', ...args]);
}

let base: string;

beforeAll(async () => {
  base = at('base.img');
  await makeExt4(base);
});

async function variant(name: string, change?: (file: string) => Promise<void>): Promise<string> {
  const file = path.join(dir, name, 'root.img');
  await mkdir(path.dirname(file), { recursive: true });
  await copyFile(base, file);
  await change?.(file);
  return file;
}

/** Overwrites the first byte of /etc/foo's data block (found with debugfs bmap) in place: content only. */
async function patchFooContent(file: string, offset = 0): Promise<void> {
  const block = Number(tool('debugfs', ['-R', 'bmap /etc/foo 0', file]).trim());
  const handle = await open(file, 'r+');
  try {
    await handle.write(Buffer.from('J'), 0, 1, offset + block * 4096);
  } finally {
    await handle.close();
  }
}

describe('icos diff: ext4', () => {
  it('identical inputs: status 0 and no output', async () => {
    const [a, b] = [await variant('same-a'), await variant('same-b')];
    expect(await diff(a, b)).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it("names one file's content", async () => {
    const [a, b] = [await variant('content-a'), await variant('content-b', (f) => patchFooContent(f))];
    const { code, stdout } = await diff(a, b);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^root\.img: \/etc\/foo: content sha256 [0-9a-f]{64} ≠ [0-9a-f]{64}$/m);
  });

  it("names one file's mode", async () => {
    const [a, b] = [await variant('mode-a'), await variant('mode-b', (f) => debugfsWrite(f, 'sif /etc/foo mode 0100644'))];
    const { code, stdout } = await diff(a, b);
    expect(code).toBe(1);
    expect(stdout).toBe('root.img: /etc/foo: mode 0600 ≠ 0644\n');
  });

  it("names one file's mtime", async () => {
    const [a, b] = [await variant('mtime-a'), await variant('mtime-b', (f) => debugfsWrite(f, 'sif /etc/foo mtime 1700000000'))];
    const { code, stdout } = await diff(a, b);
    expect(code).toBe(1);
    expect(stdout).toBe('root.img: /etc/foo: mtime 0 ≠ 1700000000\n');
  });

  it('--json lists the differences with their places', async () => {
    const [a, b] = [await variant('json-a'), await variant('json-b', (f) => debugfsWrite(f, 'sif /etc/foo mtime 1700000000'))];
    const { code, stdout } = await diff('--json', a, b);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toEqual({
      identical: false,
      truncated: false,
      differences: [{ place: ['root.img', '/etc/foo'], what: 'mtime', a: '0', b: '1700000000', text: 'root.img: /etc/foo: mtime 0 ≠ 1700000000' }],
    });
    expect(JSON.parse((await diff('--json', a, a)).stdout)).toEqual({ identical: true, truncated: false, differences: [] });
  });

  it('--max stops after that many differences and says so', async () => {
    const change = async (f: string) => {
      await debugfsWrite(f, 'sif /etc/foo mtime 1700000000');
      await debugfsWrite(f, 'sif /etc/foo mode 0100644');
    };
    const [a, b] = [await variant('max-a'), await variant('max-b', change)];
    const { code, stdout } = await diff('--max', '1', a, b);
    expect(code).toBe(1);
    expect(stdout).toBe('root.img: /etc/foo: mode 0600 ≠ 0644\n(stopped after the first 1 differences: --max raises the limit)\n');
  });

  it('trouble (a missing file) is status 2 and names the file', async () => {
    const missing = at('no-such.img');
    const { code, stdout, stderr } = await diff(base, missing);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`"${missing}"`);
  });
});

/** A 12 MiB GPT disk: partition 1 ("A_boot", 1-3 MiB) and 2 ("A_root", 3-11 MiB, the ext4). */
async function makeDisk(file: string, root: string, names = ['A_boot', 'A_root']): Promise<void> {
  const handle = await open(file, 'w');
  await handle.truncate(12 * MiB);
  await handle.close();
  const script = [
    'label: gpt',
    'label-id: 0C5F3A41-2A33-4C52-8B2B-6E1C7D7C3D10',
    'first-lba: 34',
    `start=2048, size=4096, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=6D6F1B86-3C2A-4E9B-9E1A-1F6C2E0A9B01, name="${names[0]}"`,
    `start=6144, size=16384, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=6D6F1B86-3C2A-4E9B-9E1A-1F6C2E0A9B02, name="${names[1]}"`,
  ].join('\n');
  tool('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', file], { input: `${script}\n` });
  tool('dd', [`if=${root}`, `of=${file}`, 'bs=1M', 'seek=3', 'conv=notrunc,sparse', 'status=none']);
}

describe('icos diff: disks and archives', () => {
  it('names one GPT partition name', async () => {
    const root = await variant('gpt-root');
    const [a, b] = [at('gpt-a.img'), at('gpt-b.img')];
    await makeDisk(a, root);
    await makeDisk(b, root, ['X_boot', 'A_root']);
    const { code, stdout } = await diff(a, b);
    expect(code).toBe(1);
    expect(stdout).toBe('GPT partition 1 name "A_boot" ≠ "X_boot"\n');
  });

  it('descends archive -> GPT -> partition -> ext4 to the file', async () => {
    const [rootA, rootB] = [await variant('nested-a'), await variant('nested-b', (f) => debugfsWrite(f, 'sif /etc/foo mtime 1700000000'))];
    for (const [side, root] of [['a', rootA], ['b', rootB]] as const) {
      await mkdir(at(`nested-${side}`), { recursive: true });
      await makeDisk(at(`nested-${side}/disk.img`), root);
      const packed = await icosInProcess(['pack', '--out', at(`nested-${side}/disk-img.tar.zst`), '--member', `disk.img=${at(`nested-${side}/disk.img`)}`]);
      expect(packed.code).toBe(0);
    }
    const { code, stdout } = await diff(at('nested-a/disk-img.tar.zst'), at('nested-b/disk-img.tar.zst'));
    expect(code).toBe(1);
    expect(stdout).toBe('disk.img: A_root: /etc/foo: mtime 0 ≠ 1700000000\n');
  });

  it("names one tar member's order", async () => {
    const [boot, root] = [at('order-boot.img'), at('order-root.img')];
    await writeFile(boot, 'boot');
    await writeFile(root, 'root');
    await mkdir(at('order-a'));
    await mkdir(at('order-b'));
    const [a, b] = [at('order-a/update-img.tar.zst'), at('order-b/update-img.tar.zst')];
    expect((await icosInProcess(['pack', '--out', a, '--member', `boot.img=${boot}`, '--member', `root.img=${root}`])).code).toBe(0);
    expect((await icosInProcess(['pack', '--out', b, '--member', `root.img=${root}`, '--member', `boot.img=${boot}`])).code).toBe(0);
    const { code, stdout } = await diff(a, b);
    expect(code).toBe(1);
    expect(stdout).toBe('update-img.tar.zst: member order: boot.img before root.img ≠ root.img before boot.img\n');
  });

  it("names one LV's data as a byte range", async () => {
    const volumes = at('volumes.csv');
    await writeFile(volumes, 'config,0,1,SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm,config\nguestos,1,2,woW7RT-t6jS-cRo2-uENw-iQXu-ni2u-AZdHpq,guest\n');
    const data = Buffer.alloc(3 * 4096, 7);
    const [imageA, imageB] = [at('lv-a.raw'), at('lv-b.raw')];
    await writeFile(imageA, data);
    data[5000] = 8;
    await writeFile(imageB, data);
    for (const [side, image] of [['a', imageA], ['b', imageB]] as const) {
      await mkdir(at(`lvm-${side}`));
      const made = await icosInProcess(['lvm', '--volumes', volumes, '--vg-name', 'hostlvm', '--vg-uuid', '4c7GVZ-Df82-QEcJ-xXtV-JgRL-IjLE-hK0FgA',
        '--pv-uuid', 'eu0VQE-HlTi-EyRc-GceP-xZtn-3j6t-iqEwyv', '--out', at(`lvm-${side}/hostlvm.img`), '--volume', `guestos=${image}`]);
      expect(made.code).toBe(0);
    }
    const { code, stdout } = await diff(at('lvm-a/hostlvm.img'), at('lvm-b/hostlvm.img'));
    expect(code).toBe(1);
    expect(stdout).toBe('hostlvm.img: LV guestos: bytes 4096-8191\n');
  });

  it('names one verity salt (images formatted by veritysetup)', async () => {
    const [a, b] = [at('verity-a/root.img'), at('verity-b/root.img')];
    for (const [file, salt] of [[a, 'aa'], [b, 'bb']] as const) {
      await mkdir(path.dirname(file));
      await copyFile(base, file);
      tool('veritysetup', ['format', file, file, '--hash-offset', String(8 * MiB), '--salt', salt, '--uuid', '0a6f3b1e-2c4d-4e5f-8a9b-1c2d3e4f5a6b']);
    }
    const { code, stdout } = await diff(a, b);
    expect(code).toBe(1);
    expect(stdout).toBe('root.img: verity salt aa ≠ bb\n');
  });

  it("names one FAT file's content", async () => {
    const env = { MTOOLSRC: '/dev/null', MTOOLS_SKIP_CHECK: '1' };
    for (const [side, text] of [['a', 'one'], ['b', 'two']] as const) {
      const file = at(`fat-${side}/esp.img`);
      await mkdir(path.dirname(file));
      tool('mkfs.fat', ['-C', '-i', '12345678', '-n', 'ESP', file, '4096']);
      await writeFile(at(`fat-${side}/grub.cfg`), text);
      tool('env', [...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'SOURCE_DATE_EPOCH=315532800', 'mcopy', '-i', file, at(`fat-${side}/grub.cfg`), '::/grub.cfg']);
    }
    const { code, stdout } = await diff(at('fat-a/esp.img'), at('fat-b/esp.img'));
    expect(code).toBe(1);
    expect(stdout).toMatch(/^esp\.img: \/grub\.cfg: content sha256 [0-9a-f]{64} ≠ [0-9a-f]{64}$/m);
  });
});

const BAZEL_DISK = path.join(REPO, 'bazel-bin/envs/guestos/dev/disk-img.tar.zst');

describe.skipIf(!existsSync(BAZEL_DISK))('icos diff on the Bazel outputs', () => {
  it('finds the GuestOS dev disk identical to itself', async () => {
    expect(await diff(BAZEL_DISK, BAZEL_DISK)).toEqual({ code: 0, stdout: '', stderr: '' });
  }, 20_000);
});
