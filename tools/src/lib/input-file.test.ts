import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { icosInProcess, makeTempDir } from '../../../test/support/tools.ts';
import { openRegularFile, readRegularFile, readRegularText, statRegularFile } from './input-file.ts';

describe('regular-file inputs', () => {
  const temp = makeTempDir('input-file');
  afterAll(() => temp.remove());
  const at = (name: string) => `${temp.dir}/${name}`;
  writeFileSync(at('table.csv'), 'a,b\n');
  execFileSync('mkfifo', [at('fifo')]);
  mkdirSync(at('dir'));
  symlinkSync(at('fifo'), at('link-to-fifo'));
  symlinkSync('/dev/zero', at('link-to-zero'));

  it('reads a regular file', async () => {
    expect(await readRegularText(at('table.csv'), '--partitions "table.csv"')).toBe('a,b\n');
  });

  // A FIFO nobody writes to would block the open forever: each of these must fail at once.
  it.each([
    ['fifo', 'a FIFO'],
    ['link-to-fifo', 'a FIFO'],
    ['dir', 'a directory'],
    ['link-to-zero', 'a character device'],
  ])('refuses %s as %s without opening it', async (name, found) => {
    const where = `--partitions "${name}"`;
    for (const call of [readRegularFile, openRegularFile, statRegularFile]) {
      await expect(call(at(name), where)).rejects.toThrow(`${where}: is ${found}, expected a regular file`);
    }
  });

  it('refuses /dev/zero and /dev/null', async () => {
    await expect(readRegularFile('/dev/zero', '--version "/dev/zero"')).rejects.toThrow(
      '--version "/dev/zero": is a character device, expected a regular file',
    );
    await expect(readRegularFile('/dev/null', 'x')).rejects.toThrow('x: is a character device, expected a regular file');
  });

  it('names a missing file and the reason, never "undefined"', async () => {
    const error = await readRegularFile(at('missing'), '--volumes "missing"').catch((e: Error) => e);
    expect((error as Error).message).toBe('--volumes "missing": cannot be read: no such file or directory');
  });

  it('refuses a file over the size limit', async () => {
    await expect(readRegularFile(at('table.csv'), 'v', { maxBytes: 3 })).rejects.toThrow('v: is 4 bytes, more than the 3 bytes allowed');
    expect((await readRegularFile(at('table.csv'), 'v', { maxBytes: 4 })).length).toBe(4);
  });
});

describe('commands refuse a FIFO, a device or a directory where a file is read, at once', () => {
  const temp = makeTempDir('input-file-commands');
  afterAll(() => temp.remove());
  const fifo = `${temp.dir}/fifo`;
  execFileSync('mkfifo', [fifo]);
  const lvmIds = ['--vg-name', 'hostlvm', '--vg-uuid', 'aaaaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaaa', '--pv-uuid', 'bbbbbb-bbbb-bbbb-bbbb-bbbb-bbbb-bbbbbb'];

  it.each([
    ['validate --partitions', ['validate', '--partitions', fifo], `${fifo} (partition table): is a FIFO, expected a regular file`],
    ['lvm --volumes', ['lvm', '--volumes', fifo, ...lvmIds, '--out', `${temp.dir}/lvm.img`], `${fifo} (volume table): is a FIFO, expected a regular file`],
    ['disk --partitions /dev/zero', ['disk', '--partitions', '/dev/zero', '--out', `${temp.dir}/disk.img`],
      '/dev/zero (partition table): is a character device, expected a regular file'],
    ['validate --partitions DIR', ['validate', '--partitions', temp.dir], `${temp.dir} (partition table): is a directory, expected a regular file`],
    ['build --manifest', ['build', '--manifest', fifo], `manifest "${fifo}": is a FIFO, expected a regular file`],
    ['guest-vm --vm', ['guest-vm', '--vm', fifo, '--config-dir', temp.dir, '--out-dir', temp.dir], `--vm "${fifo}": is a FIFO, expected a regular file`],
  ])('%s', async (_name, args, message) => {
    const { code, stderr } = await icosInProcess(args);
    expect(stderr).toBe(`icos: ${message}\n`);
    expect(code).toBe(1);
    expect(readdirSync(temp.dir)).toEqual(['fifo']);
  });
});
