import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { icosInProcess, runIcos, sha256sum, useTempDir } from '../../../test/support/tools.ts';
import { ConsoleLogger } from '../infra/console-logger.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { makeArtifact } from './kind.ts';
import { sparseTarKind } from './sparse-tar.ts';
import { expectSameSparseBytes, noisyBytes, sparseFile, tarOfZstd, tool } from './sparse-tar/testing.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const BIG_SIZE = 50 * GiB;
const EPOCH = 1_700_000_000; // 2023-11-14 22:13:20 UTC
const REPO = path.resolve(import.meta.dirname, '../../..');

const { dir } = useTempDir('sparse-tar');
let inputs: string;
let savedEpoch: string | undefined;

/** `--member NAME=inputs/NAME` for each name. */
function memberArgs(names: readonly string[]): string[] {
  return names.flatMap((name) => ['--member', `${name}=${path.join(inputs, name)}`]);
}

/** Data at offsets that are multiples of 4 KiB, the last block included, in a 50 GiB file. */
const BIG_WRITES: Array<[number, Buffer]> = [
  [4096 * 1000, noisyBytes(2 * MiB)],
  [9 * GiB + 4096 * 7, noisyBytes(512 * KiB)],
  [17 * GiB, noisyBytes(64 * KiB)],
  [BIG_SIZE - 4096, noisyBytes(4096)],
];

/** `count` data extents of 4-16 KiB, 1 MiB apart: more map entries than header blocks hold. */
function scatteredWrites(count: number): Array<[number, Buffer]> {
  return Array.from({ length: count }, (_, i) => [i * MiB + (i % 3) * 4096, noisyBytes(4096 * (1 + (i % 4)))]);
}

beforeAll(async () => {
  savedEpoch = process.env.SOURCE_DATE_EPOCH;
  process.env.SOURCE_DATE_EPOCH = String(EPOCH);
  inputs = path.join(dir, 'inputs');
  await mkdir(inputs);
  await sparseFile(path.join(inputs, 'big.img'), BIG_SIZE, BIG_WRITES);
  await writeFile(path.join(inputs, 'dense.img'), noisyBytes(300_001));
  await writeFile(path.join(inputs, 'empty.img'), '');
  await writeFile(path.join(inputs, 'zeros.img'), Buffer.alloc(3 * MiB + 100)); // real zero writes
  await sparseFile(path.join(inputs, 'five.img'), 8 * MiB, scatteredWrites(5));
  await sparseFile(path.join(inputs, 'thirty.img'), 40 * MiB, scatteredWrites(30));
});

afterAll(async () => {
  if (savedEpoch === undefined) delete process.env.SOURCE_DATE_EPOCH;
  else process.env.SOURCE_DATE_EPOCH = savedEpoch;
});

describe('icos pack', () => {
  const names = ['big.img', 'dense.img', 'empty.img', 'zeros.img'];
  let archive: string;

  beforeAll(async () => {
    archive = path.join(dir, 'out.tar.zst');
    const { code, stderr } = await icosInProcess(['pack', '--out', archive, ...memberArgs(names)]);
    expect(stderr).toBe(`wrote ${archive} (4 members)\n`);
    expect(code).toBe(0);
  });

  it('zstd-fast compresses the same tar as the plain archive, at a lower level than release', async () => {
    const members = names.map((name) => ({ name, path: path.join(inputs, name) }));
    const deps = { runner: new ExecaCommandRunner(new ConsoleLogger(false)), log: new ConsoleLogger(false) };
    const plain = path.join(dir, 'plain.tar');
    const fast = path.join(dir, 'fast.tzst');
    await makeArtifact(sparseTarKind, { members, compression: 'none' }, plain, deps);
    await makeArtifact(sparseTarKind, { members, compression: 'zstd-fast' }, fast, deps);
    tool('zstd', ['-q', '-d', '-f', fast, '-o', path.join(dir, 'fast.tar')]);
    expect(sha256sum(path.join(dir, 'fast.tar'))).toBe(sha256sum(plain));
    expect(sha256sum(fast)).not.toBe(sha256sum(archive));
  });

  it('writes a valid zstd frame that GNU tar lists with fixed mode, owners and mtime', () => {
    tool('zstd', ['-q', '-t', archive]);
    const listing = tarOfZstd(archive, ['--full-time', '-tv']).trimEnd().split('\n').map((line) => line.split(/\s+/));
    expect(listing).toEqual([
      ['-rw-r--r--', '0/0', String(BIG_SIZE), '2023-11-14', '22:13:20', 'big.img'],
      ['-rw-r--r--', '0/0', '300001', '2023-11-14', '22:13:20', 'dense.img'],
      ['-rw-r--r--', '0/0', '0', '2023-11-14', '22:13:20', 'empty.img'],
      ['-rw-r--r--', '0/0', String(3 * MiB + 100), '2023-11-14', '22:13:20', 'zeros.img'],
    ]);
  });

  it('stores only data: the tar is headers plus data blocks, the zero-written file costs nothing', () => {
    const tarBytes = tool('zstd', ['-q', '-dc', archive]).length;
    const bigData = BIG_WRITES.reduce((sum, [, bytes]) => sum + bytes.length, 0);
    const dense = Math.ceil(300_001 / 512) * 512;
    // One header each (the big map has 5 entries: one extension block), 2 end blocks.
    expect(tarBytes).toBe(4 * 512 + 512 + bigData + dense + 2 * 512);
  });

  it('extracts (tar -xS) to byte-identical files, holes kept as holes', async () => {
    const out = path.join(dir, 'extracted');
    await mkdir(out);
    tool('tar', ['-xS', '-C', out, '-f', '-'], tool('zstd', ['-q', '-dc', archive]));
    expect((await readdir(out)).sort()).toEqual([...names].sort());
    for (const name of ['dense.img', 'empty.img', 'zeros.img']) tool('cmp', [path.join(inputs, name), path.join(out, name)]);
    await expectSameSparseBytes(path.join(inputs, 'big.img'), path.join(out, 'big.img'));
    expect((await stat(path.join(out, 'big.img'))).blocks * 512).toBeLessThan(8 * MiB);
    expect((await stat(path.join(out, 'zeros.img'))).blocks).toBe(0);
  });

  it('matches GNU tar --format=oldgnu byte for byte on files whose holes are filesystem holes', async () => {
    const plain = path.join(dir, 'same.tar');
    const gnuNames = ['big.img', 'dense.img', 'empty.img', 'five.img', 'thirty.img'];
    expect((await icosInProcess(['pack', '--out', plain, ...memberArgs(gnuNames)])).code).toBe(0);
    const gnu = path.join(dir, 'gnu.tar');
    tool('tar', [
      '--format=oldgnu', '--sparse', '--hole-detection=seek', `--mtime=@${EPOCH}`,
      '--owner=0', '--group=0', '--numeric-owner', '--mode=0644', '--blocking-factor=1',
      '-C', inputs, '-cf', gnu, ...gnuNames,
    ]);
    expect((await readFile(plain)).equals(await readFile(gnu))).toBe(true);
  });

  it('writes extension headers for maps of more than 4 and more than 25 entries that extract correctly', async () => {
    const archive = path.join(dir, 'extents.tzst');
    expect((await icosInProcess(['pack', '--out', archive, ...memberArgs(['five.img', 'thirty.img'])])).code).toBe(0);
    const out = path.join(dir, 'extents');
    await mkdir(out);
    tool('tar', ['-xS', '-C', out, '-f', '-'], tool('zstd', ['-q', '-dc', archive]));
    for (const name of ['five.img', 'thirty.img']) {
      tool('cmp', [path.join(inputs, name), path.join(out, name)]);
      expect((await stat(path.join(out, name))).blocks * 512).toBeLessThan(1 * MiB);
    }
    // five.img: 6 map entries (5 extents and the end marker) = 4 in the header + 1 extension block.
    // thirty.img: 31 entries = 4 + 21 + 6, two extension blocks; `isextended` chains them.
    const tar = tool('zstd', ['-q', '-dc', archive]);
    const thirty = 2 * 512 + 4096 * (1 + 2 + 3 + 4 + 1);
    expect([tar[482], tar[512 + 504], tar[thirty + 482], tar[thirty + 512 + 504], tar[thirty + 1024 + 504]]).toEqual([
      1, 0, 1, 1, 0,
    ]);
    expect(tar.subarray(thirty, thirty + 10).toString()).toBe('thirty.img');
  });

  it('gives the same bytes whatever the directory, umask and TMPDIR', async () => {
    const hashes: string[] = [];
    for (const umask of ['022', '077']) {
      const work = await mkdtemp(path.join(dir, `repro-${umask}-`));
      await mkdir(path.join(work, 'tmp'));
      for (const name of names) tool('cp', ['--sparse=always', path.join(inputs, name), path.join(work, name)]);
      const members = names.flatMap((name) => ['--member', `${name}=${name}`]);
      const run = runIcos(['pack', '--out', 'a.tar.zst', ...members], { umask, cwd: work, env: { TMPDIR: path.join(work, 'tmp') } });
      expect(run.status, run.stderr).toBe(0);
      hashes.push(sha256sum(path.join(work, 'a.tar.zst')));
    }
    expect(hashes[1]).toBe(hashes[0]);
  });
});

describe('icos pack errors', () => {
  // {out}: an empty directory for the output; {dense}, {empty}, {inputs}: existing inputs.
  // The last column: the exit status when not 1 (2: a usage error).
  const cases: Array<[string, string[], string, number?]> = [
    ['a missing member file', ['--out', '{out}/x.tar.zst', '--member', 'a.img={inputs}/missing.img'],
      'sparse-tar: member "a.img": file "{inputs}/missing.img": cannot be read: no such file or directory'],
    ['a duplicate member name', ['--out', '{out}/x.tar.zst', '--member', 'a.img={dense}', '--member', 'a.img={empty}'],
      '--member "a.img={empty}": "a.img" is given more than once', 2],
    ['a name with a slash', ['--out', '{out}/x.tar.zst', '--member', 'sub/a.img={dense}'],
      'sparse-tar: member name "sub/a.img": must be a bare file name, without "/"'],
    ['the name ".."', ['--out', '{out}/x.tar.zst', '--member', '..={dense}'],
      'sparse-tar: member name "..": must be a file name, not "." or ".."'],
    ['an empty name', ['--out', '{out}/x.tar.zst', '--member', '={dense}'], '--member "={dense}": expected NAME=PATH', 2],
    ['a name with a control character', ['--out', '{out}/x.tar.zst', '--member', 'a\x01b={dense}'],
      'sparse-tar: member name "a\\x01b": must not contain control characters'],
    ['a name with U+FFFD (command-line bytes that were not UTF-8)', ['--out', '{out}/x.tar.zst', '--member', 'caf\uFFFD={dense}'],
      'sparse-tar: member name "caf\uFFFD": holds U+FFFD, the mark of bytes that are not UTF-8: member names must be UTF-8'],
    ['an unknown extension', ['--out', '{out}/x.tar.gz', '--member', 'a.img={dense}'],
      'sparse-tar: output "{out}/x.tar.gz": unknown extension: expected a name ending in .tar.zst, .tzst or .tar'],
    ['a directory as member', ['--out', '{out}/x.tar', '--member', 'a.img={inputs}'],
      'sparse-tar: member "a.img": file "{inputs}": is a directory, expected a regular file'],
    ['a good member after a missing one', ['--out', '{out}/x.tzst', '--member', 'a.img={dense}', '--member', 'b.img={out}/b'],
      'sparse-tar: member "b.img": file "{out}/b": cannot be read: no such file or directory'],
  ];

  it.each(cases)('rejects %s with a located message and leaves no output', async (_, argv, message, status = 1) => {
    const out = await mkdtemp(path.join(dir, 'errors-'));
    const fill = (text: string): string =>
      text
        .replaceAll('{out}', out)
        .replaceAll('{dense}', path.join(inputs, 'dense.img'))
        .replaceAll('{empty}', path.join(inputs, 'empty.img'))
        .replaceAll('{inputs}', inputs);
    const { code, stderr } = await icosInProcess(['pack', ...argv.map(fill)]);
    expect(stderr).toBe(`icos: ${fill(message)}\n`);
    expect(code).toBe(status);
    expect(await readdir(out)).toEqual([]);
  });
});
