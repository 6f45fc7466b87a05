import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/support/tools.ts';
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
