import { spawnSync } from 'node:child_process';
import { mkdir, readdir, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { icosInProcess, runIcos, sha256sum, useTempDir } from '../../../test/support/tools.ts';
import { FIXTURE_FILES, makeFixtureTree, sh, tarTree } from './testing/source-tar.ts';

// Expectations come from dosfstools (fsck.fat, fatlabel) and mtools reading the image.
const REPO = path.resolve(import.meta.dirname, '../../..');
const { dir: work, at } = useTempDir('vfat');
const MTOOLS_ENV = { ...process.env, MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };

function mtools(tool: string, args: string[]): string {
  const result = spawnSync(tool, args, { encoding: 'utf8', env: MTOOLS_ENV });
  if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

const EFI_FILES = FIXTURE_FILES.filter((f) => f.path.startsWith('/boot/efi/'));

beforeAll(async () => {
  await makeFixtureTree(at('tree'));
  tarTree(at('tree'), at('src.tar'));
  await writeFile(at('late.bin'), 'late\n');
});

const ESP_ARGS = () => ['--size', '32M', '--src', at('src.tar'), '--subdir', '/boot/efi', '--extra', `${at('late.bin')}:/EFI/BOOT/late.bin:0644`];

describe('icos vfat', () => {
  it('makes an ESP from --subdir /boot/efi that fsck.fat accepts and mtools reads back', async () => {
    const image = at('esp.img');
    const { code, stderr } = await icosInProcess(['vfat', '--out', image, ...ESP_ARGS()]);
    expect([code, stderr]).toEqual([0, '']);
    const fsck = spawnSync('fsck.fat', ['-n', image], { encoding: 'utf8' });
    expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
    const listing = mtools('mdir', ['-i', image, '-/', '-b', '::']);
    expect(listing.trim().split('\n').sort()).toEqual(
      ['::/EFI/', '::/EFI/BOOT/', '::/EFI/BOOT/BOOTX64.EFI', '::/EFI/BOOT/grub.cfg', '::/EFI/BOOT/late.bin', '::/Long Name With Spaces.txt'].sort(),
    );
    for (const file of EFI_FILES) {
      expect(mtools('mtype', ['-i', image, `::${file.path.slice('/boot/efi'.length)}`])).toBe(file.content);
    }
    expect(mtools('mtype', ['-i', image, '::/EFI/BOOT/late.bin'])).toBe('late\n');
    // SOURCE_DATE_EPOCH 0 is before FAT's first day: clamped to 1980-01-01.
    expect(mtools('mdir', ['-i', image, '::/EFI/BOOT'])).toMatch(/BOOTX64\s+EFI\s+14 1980-01-01\s+0:00/);
  });

  it('makes the missing parent directories of an --extra file (an ESP holding only its loader)', async () => {
    const image = at('loader-esp.img');
    const { code, stderr } = await icosInProcess(['vfat', '--out', image, '--size', '1M', '--extra', `${at('late.bin')}:/EFI/Boot/bootx64.efi:0644`]);
    expect([code, stderr]).toEqual([0, '']);
    expect(mtools('mdir', ['-i', image, '-/', '-b', '::']).trim().split('\n')).toEqual(['::/EFI/', '::/EFI/Boot/', '::/EFI/Boot/bootx64.efi']);
    expect(spawnSync('fsck.fat', ['-n', image]).status).toBe(0);
  });

  it('--fat32 --label CONFIG without --src gives an empty labelled FAT32', async () => {
    const image = at('config.img');
    expect(await icosInProcess(['vfat', '--out', image, '--size', '64M', '--fat32', '--label', 'CONFIG'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(spawnSync('fsck.fat', ['-n', image]).status).toBe(0);
    expect(sh('fatlabel', [image]).trim()).toBe('CONFIG');
    const info = mtools('minfo', ['-i', image, '::']);
    expect(info).toContain('disk type="FAT32   "');
    expect(info).toContain('serial number: 00000000');
  });

  it('gives identical bytes across umask, TMPDIR, clock and re-created source files', async () => {
    async function build(out: string, umask: string, tmp: string, epoch: string): Promise<void> {
      await mkdir(tmp, { recursive: true });
      const result = runIcos(['vfat', '--out', out, ...ESP_ARGS()], { umask, cwd: REPO, env: { TMPDIR: tmp, SOURCE_DATE_EPOCH: epoch } });
      expect(result.status, result.stderr).toBe(0);
    }
    await build(at('a.img'), '022', at('tmp-a'), '0');
    await build(at('epoch-a.img'), '022', at('tmp-a'), '1700000000');
    sh('find', [at('tree'), '-exec', 'touch', '-h', '{}', '+']);
    tarTree(at('tree'), at('src.tar'));
    await new Promise((resolve) => setTimeout(resolve, 2100)); // FAT times have 2 s steps
    await build(at('b.img'), '077', at('tmp-b/deeper'), '0');
    await build(at('epoch-b.img'), '077', at('tmp-b/deeper'), '1700000000');
    expect(sha256sum(at('b.img'))).toBe(sha256sum(at('a.img')));
    expect(sha256sum(at('epoch-b.img'))).toBe(sha256sum(at('epoch-a.img')));
    expect(mtools('mdir', ['-i', at('epoch-a.img'), '::/EFI/BOOT'])).toMatch(/grub\s+cfg\s+21 2023-11-14\s+22:13/);
  });
});

describe('vfat errors', () => {
  beforeAll(async () => {
    await writeFile(at('big-file'), '');
    await truncate(at('big-file'), 2 * 1024 * 1024);
    sh('tar', ['-cf', at('big.tar'), '-C', work, 'big-file']);
  });

  const cases: Array<[string, () => string[], string]> = [
    ['a symlink', () => ['--src', at('src.tar')], 'vfat(out.img): --src "SRC": entry "./etc/passwd.link" is a symlink: this filesystem holds only files and directories'],
    ['a device', () => ['--src', at('src.tar'), '--subdir', '/dev'], 'entry "./dev/initctl" is a fifo: this filesystem holds only files and directories'],
    ['a missing tar', () => ['--src', at('missing.tar')], `vfat(out.img): --src "MISSING": cannot be read: no such file or directory`],
    ['names that differ only in case', () => ['--src', at('src.tar'), '--subdir', '/boot/efi', '--extra', `${at('late.bin')}:/long name with spaces.txt:0644`], 'entries "/Long Name With Spaces.txt" and "/long name with spaces.txt" differ only in case'],
    ['content larger than --size', () => ['--src', at('big.tar'), '--size', '1M'], 'vfat(out.img): content needs at least 2097664 bytes (2 MiB) but --size is 1048576 bytes (1 MiB)'],
    ['an absent --subdir', () => ['--src', at('src.tar'), '--subdir', '/boot/nope'], '--subdir "/boot/nope" is not in the archive'],
    ['a bad label', () => ['--label', 'config'], 'FAT labels are 1 to 11 characters of A-Z, 0-9, _ and -'],
  ];

  it.each(cases)('rejects %s with a located message and leaves no output', async (_name, args, expected) => {
    const allArgs = args();
    const { code, stderr } = await icosInProcess(['vfat', '--out', at('out.img'), ...(allArgs.includes('--size') ? [] : ['--size', '8M']), ...allArgs]);
    expect(code).toBe(1);
    expect(stderr).toContain(expected.replace('SRC', at('src.tar')).replace('MISSING', at('missing.tar')));
    expect((await readdir(work)).filter((name) => name.includes('out.img'))).toEqual([]);
  });
});
