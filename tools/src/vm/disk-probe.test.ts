import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { icosInProcess, tool, useTempDir } from '../../../test/support/tools.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { diskFormatOf, findConfigPartition } from './disk-probe.ts';

// Disks made by icos (vfat, disk, pack); qemu-img makes the qcow2 overlay.
const { at } = useTempDir('disk-probe');
const runner = new ExecaCommandRunner();
const TABLE = [
  'esp    , 2048, 4096, U, B78084E2-3363-1346-8C25-D426F26B8928, FAT without a label',
  'other  , 6144, 2048, M, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6, FAT labelled OTHER',
  'config , 8192, 2048, M, A5BA3816-BEAA-D74D-993E-CFA5AA6BA1F6, FAT labelled CONFIG',
].join('\n');

async function icos(...args: string[]): Promise<void> {
  const { code, stderr } = await icosInProcess(args);
  expect(stderr).not.toContain('icos:');
  expect(code).toBe(0);
}

beforeAll(async () => {
  await writeFile(at('partitions.csv'), `${TABLE}\n`);
  await icos('vfat', '--out', at('esp.img'), '--size', '2M');
  await icos('vfat', '--out', at('other.img'), '--size', '1M', '--label', 'OTHER');
  await icos('vfat', '--out', at('config.img'), '--size', '1M', '--label', 'CONFIG');
  await icos('disk', '--partitions', at('partitions.csv'), '--out', at('disk.img'), '--part', `esp=${at('esp.img')}`, '--part', `other=${at('other.img')}`, '--part', `config=${at('config.img')}`);
  await icos('pack', '--out', at('disk-img.tar.zst'), '--member', `disk.img=${at('disk.img')}`);
  tool('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', at('disk.img'), at('overlay.qcow2')]);
  await writeFile(at('blank.img'), '');
  await truncate(at('blank.img'), 4 * 1024 * 1024);
  await writeFile(at('config.ini'), '[x]\n');
  await mkdir(at('scratch'));
});

describe('diskFormatOf', () => {
  it('tells raw, qcow2 and archives apart by their first bytes', async () => {
    expect(await diskFormatOf(at('disk.img'), '--disk')).toBe('raw');
    expect(await diskFormatOf(at('overlay.qcow2'), '--disk')).toBe('qcow2');
    expect(await diskFormatOf(at('disk-img.tar.zst'), '--disk')).toBe('archive');
  });

  it('names the flag for a missing file, a directory and a file that is no disk', async () => {
    await expect(diskFormatOf(at('missing.img'), '--disk')).rejects.toThrow(/^--disk ".*missing\.img": cannot be read: no such file or directory$/);
    await expect(diskFormatOf(at('scratch'), '--disk')).rejects.toThrow('is a directory, expected a regular file');
    await expect(diskFormatOf(at('config.ini'), '--disk')).rejects.toThrow('not a disk image: 4 bytes is not a whole number of 512-byte sectors');
  });
});

describe('findConfigPartition', () => {
  it('finds the FAT partition labelled CONFIG on a raw disk, by byte offset', async () => {
    expect(await findConfigPartition(at('disk.img'), 'raw', at('scratch'), runner)).toEqual({ number: 3, offset: 8192 * 512, size: 2048 * 512 });
  });

  it('finds it through a qcow2 overlay too', async () => {
    expect(await findConfigPartition(at('overlay.qcow2'), 'qcow2', at('scratch'), runner)).toEqual({ number: 3, offset: 8192 * 512, size: 2048 * 512 });
  });

  it('finds none on a disk without a partition table or without such a partition', async () => {
    expect(await findConfigPartition(at('blank.img'), 'raw', at('scratch'), runner)).toBeUndefined();
    expect(await findConfigPartition(at('esp.img'), 'raw', at('scratch'), runner)).toBeUndefined();
  });
});
