import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { tool, toolStatus, useTempDir } from '../../../test/support/tools.ts';
import { readGrubenvOnImage, writeGrubenvOnImage } from './grubenv-image.ts';
import { commitUpgrade, parseGrubenv } from './grubenv.ts';

/**
 * grubenv read and written on a FAT file system inside a disk image, as the upgrade tests do with
 * a VM's disk: checked with mtools' own listing, grub-editenv on the copied-out file and fsck.fat.
 */
const { at } = useTempDir('grubenv-image');
const runner = new ExecaCommandRunner();
const SHIPPED = path.join(REPO_ROOT, 'components/bootloader/grubenv');
const MTOOLS = { MTOOLSRC: '/dev/null', MTOOLS_SKIP_CHECK: '1' };
const OFFSET = 1024 * 1024;

/** A 1 MiB gap, then a 16 MiB FAT holding the shipped grubenv: a grub partition inside a disk. */
function diskWithGrubPartition(name: string): string {
  const fat = at(`${name}.fat`);
  tool('mkfs.vfat', ['-C', '-i', '12345678', fat, String(16 * 1024)]);
  toolStatus('mcopy', ['-i', fat, SHIPPED, '::/grubenv'], { env: MTOOLS });
  const disk = at(`${name}.img`);
  tool('truncate', ['-s', String(OFFSET), disk]);
  tool('sh', ['-c', `cat "$0" >> "$1"`, fat, disk]);
  return disk;
}

describe('grubenv on a disk image', () => {
  it('reads the grub partition\'s block at its offset', async () => {
    const env = await readGrubenvOnImage(diskWithGrubPartition('read'), OFFSET, runner);
    expect(Object.fromEntries(env)).toEqual({ boot_alternative: 'A', boot_cycle: 'install' });
  });

  it('writes a state that grub-editenv lists, 1024 bytes, on a FAT that fsck.fat accepts', async () => {
    const disk = diskWithGrubPartition('write');
    const shipped = parseGrubenv(readFileSync(SHIPPED), SHIPPED);
    await writeGrubenvOnImage(disk, OFFSET, commitUpgrade(new Map([...shipped, ['boot_cycle', 'stable']]), 'A', 'test'), runner);
    const out = at('written-grubenv');
    expect(toolStatus('mcopy', ['-n', '-i', `${disk}@@${OFFSET}`, '::/grubenv', out], { env: MTOOLS }).status).toBe(0);
    expect(tool('stat', ['-c', '%s', out]).trim()).toBe('1024');
    expect(tool('grub-editenv', [out, 'list'])).toBe('boot_alternative=B\nboot_cycle=first_boot\n');
    const fat = at('written.fat');
    tool('dd', [`if=${disk}`, `of=${fat}`, 'bs=1M', 'skip=1', 'status=none']);
    expect(toolStatus('fsck.fat', ['-n', fat]).status).toBe(0);
    expect(Object.fromEntries(await readGrubenvOnImage(disk, OFFSET, runner))).toEqual({ boot_alternative: 'B', boot_cycle: 'first_boot' });
  });

  it('names the image, the offset and the rule when there is no grubenv or a broken one', async () => {
    const disk = diskWithGrubPartition('broken');
    await expect(readGrubenvOnImage(disk, 0, runner)).rejects.toThrow(`${disk}`);
    const bad = at('bad-grubenv');
    copyFileSync(SHIPPED, bad);
    tool('truncate', ['-s', '1000', bad]);
    toolStatus('mcopy', ['-o', '-i', `${disk}@@${OFFSET}`, bad, '::/grubenv'], { env: MTOOLS });
    await expect(readGrubenvOnImage(disk, OFFSET, runner)).rejects.toThrow(`${disk} (FAT at byte ${OFFSET}): /grubenv: 1000 bytes: a grubenv block is exactly 1024`);
  });
});
