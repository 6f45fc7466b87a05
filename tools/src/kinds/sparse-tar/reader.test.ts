import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { icosInProcess, useTempDir } from '../../../../test/support/tools.ts';
import { ConsoleLogger } from '../../infra/console-logger.ts';
import { ExecaCommandRunner } from '../../infra/execa-command-runner.ts';
import { decodeHeaders, encodeHeaders } from './header.ts';
import { unpackFramedArchive } from './reader.ts';
import { expectSameSparseBytes, filesystemDataRegions, noisyBytes, sparseFile, tool } from './testing.ts';

const MiB = 1024 * 1024;
const runner = new ExecaCommandRunner(new ConsoleLogger(false));

describe('decodeHeaders', () => {
  it('reads back what encodeHeaders writes, extension blocks and base-256 sizes included', () => {
    const map = Array.from({ length: 30 }, (_, index) => ({ offset: index * 2 * 4096 + 9 * 1024 ** 3, length: 4096 }));
    const fields = { name: 'disk.img', mtime: 1, storedSize: 30 * 4096, sparse: { realSize: 50 * 1024 ** 3, map } };
    const blocks = encodeHeaders(fields);
    expect(decodeHeaders(blocks.subarray(0, 512))).toBe('need-more');
    expect(decodeHeaders(blocks)).toEqual({ name: 'disk.img', storedSize: 30 * 4096, headerBytes: blocks.length, sparse: { realSize: 50 * 1024 ** 3, map } });
  });

  it('reads the sparse headers GNU tar writes (--format=oldgnu --sparse)', async () => {
    const temp = useTempDirNow('gnu-headers');
    await sparseFile(path.join(temp, 'a.img'), 9 * MiB, [[MiB, Buffer.alloc(8192, 1)], [5 * MiB, Buffer.alloc(4096, 2)]]);
    const tar = tool('tar', ['--format=oldgnu', '--sparse', '-C', temp, '-cf', '-', 'a.img']);
    const decoded = decodeHeaders(tar);
    expect(decoded).toMatchObject({ name: 'a.img', storedSize: 12288, sparse: { realSize: 9 * MiB } });
    expect(decoded !== 'need-more' && decoded.sparse!.map.filter((entry) => entry.length > 0)).toEqual([
      { offset: MiB, length: 8192 },
      { offset: 5 * MiB, length: 4096 },
    ]);
  });

  it('refuses a member name with a path, a bad checksum and a foreign magic', () => {
    const good = encodeHeaders({ name: 'a.img', mtime: 1, storedSize: 0 });
    const withPath = encodeHeaders({ name: 'x/a.img', mtime: 1, storedSize: 0 });
    expect(() => decodeHeaders(withPath)).toThrow('member name "x/a.img" is not a bare file name');
    const badSum = Buffer.from(good);
    badSum[0] = 0x62;
    expect(() => decodeHeaders(badSum)).toThrow('header checksum does not match');
    const ustar = Buffer.from(good);
    ustar.write('ustar\x0000', 257, 'latin1');
    expect(() => decodeHeaders(ustar)).toThrow('first block is not an old-GNU tar header');
  });
});

/** A fresh directory for one test (useTempDir registers hooks, so it cannot be called inside a test). */
const scratchRoot = useTempDir('reader');
let counter = 0;
function useTempDirNow(label: string): string {
  const dir = scratchRoot.at(`${label}-${counter++}`);
  tool('mkdir', ['-p', dir]);
  return dir;
}

describe('unpackFramedArchive', () => {
  let image: string;
  beforeAll(async () => {
    image = scratchRoot.at('root.img');
    await sparseFile(image, 64 * MiB, [[2 * MiB, noisyBytes(20 * MiB)], [40 * MiB, noisyBytes(MiB)], [64 * MiB - 4096, Buffer.alloc(4096, 9)]]);
  });

  it('writes the member with the bytes and holes GNU tar extracts', async () => {
    const dir = useTempDirNow('unpack');
    const archive = path.join(dir, 'root.tzst');
    expect((await icosInProcess(['pack', '--out', archive, '--member', `partition.img=${image}`])).code).toBe(0);
    await mkdir(path.join(dir, 'ours'));
    await mkdir(path.join(dir, 'gnu'));
    await mkdir(path.join(dir, 'scratch'));
    const out = await unpackFramedArchive(archive, path.join(dir, 'ours'), path.join(dir, 'scratch'), runner);
    expect(out).toBe(path.join(dir, 'ours', 'partition.img'));
    tool('tar', ['-xS', '--zstd', '-f', archive, '-C', path.join(dir, 'gnu')]);
    await expectSameSparseBytes(out, path.join(dir, 'gnu', 'partition.img'));
    await expectSameSparseBytes(out, image);
    // Holes stay holes: the filesystem holds about the 21 MiB of data, not 64 MiB.
    const allocated = filesystemDataRegions(out).reduce((sum, [start, end]) => sum + end - start, 0);
    expect(allocated).toBeLessThan(24 * MiB);
    expect(tool('ls', [path.join(dir, 'scratch')]).toString()).toBe('');
  });

  it('refuses an archive of two members, naming it', async () => {
    const dir = useTempDirNow('two');
    const archive = path.join(dir, 'two.tzst');
    await writeFile(path.join(dir, 'b.img'), 'b');
    expect((await icosInProcess(['pack', '--out', archive, '--member', `a.img=${image}`, '--member', `b.img=${dir}/b.img`])).code).toBe(0);
    await mkdir(path.join(dir, 'out'));
    await expect(unpackFramedArchive(archive, path.join(dir, 'out'), dir, runner)).rejects.toThrow(
      `unpack(${archive}): expected exactly one member ("a.img") and the end of the archive after it`,
    );
  });

  it('refuses a zstd file that holds no tar, naming it', async () => {
    const dir = useTempDirNow('junk');
    const archive = path.join(dir, 'junk.tzst');
    await writeFile(archive, tool('zstd', ['-q', '-c'], Buffer.alloc(4096, 0x41)));
    await expect(unpackFramedArchive(archive, dir, dir, runner)).rejects.toThrow(
      `unpack(${archive}): not an archive icos wrote: first block is not an old-GNU tar header`,
    );
    expect((await readFile(archive)).length).toBeGreaterThan(0);
  });
});
