import { readdir, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { icosInProcess, useTempDir } from '../../../../test/support/tools.ts';
import { fatNameProblem } from './mtools.ts';

describe('fatNameProblem', () => {
  it.each([
    ['a*b', 'FAT names cannot hold control characters or any of "*/:<>?\\|'],
    ['x\u007fy', 'FAT names cannot hold control characters'],
    ['tab\there', 'FAT names cannot hold control characters'],
    ['trailing.', 'FAT names cannot end in a dot or a space'],
    ['trailing ', 'FAT names cannot end in a dot or a space'],
    ['CON', '"CON" is a reserved DOS device name'],
    ['nul', '"nul" is a reserved DOS device name'],
    ['com1', '"com1" is a reserved DOS device name'],
    ['a\u{1F600}b', 'outside the Basic Multilingual Plane'],
    ['é'.repeat(256), 'FAT names are at most 255 UTF-16 code units, this one has 256'],
  ])('refuses %j', (name, problem) => {
    expect(fatNameProblem(name)).toContain(problem);
  });

  it.each(['café', 'con.txt', 'com0', ' leading space', 'a#b+c;d', 'é'.repeat(255)])('accepts %j', (name) => {
    expect(fatNameProblem(name)).toBeUndefined();
  });
});

describe('vfat refuses names FAT cannot hold before writing anything', () => {
  const { dir, at } = useTempDir('fat-names');

  it.each([
    ['/con', 'vfat(out.img): entry "/con": name not allowed on FAT: "con" is a reserved DOS device name'],
    ['/x\u007fy', 'vfat(out.img): entry "/x\\x7fy": name not allowed on FAT: FAT names cannot hold control characters'],
    ['/a\u{1F600}b', 'vfat(out.img): entry "/a\u{1F600}b": name not allowed on FAT: FAT names (as mtools writes them) cannot hold characters outside'],
  ])('--extra to %j', async (destination, message) => {
    await writeFile(at('f.txt'), 'f\n');
    const run = await icosInProcess(['vfat', '--out', at('out.img'), '--size', '1M', '--extra', `${at('f.txt')}:${destination}:0644`]);
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(1);
    expect((await readdir(dir)).filter((name) => name.includes('out.img'))).toEqual([]);
  });
});
