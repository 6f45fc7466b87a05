import { mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canSkipHoles, copyRangeInKernel, dataExtents, mergeExtents } from './sparse-map.ts';

describe('dataExtents', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sparse-map-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses the SEEK_DATA addon built by npm ci', () => {
    expect(canSkipHoles).toBe(true);
  });

  it('maps data by content: written zeros are holes, a single non-zero byte makes its block data', async () => {
    const file = path.join(dir, 'a.img');
    await writeFile(file, Buffer.alloc(3 * 4096)); // allocated, but all zero
    await truncate(file, 1 << 30);
    const handle = await open(file, 'r+');
    await handle.write(Buffer.from([7]), 0, 1, 5 * 4096 + 100);
    await handle.write(Buffer.alloc(8192, 1), 0, 8192, 6 * 4096);
    await handle.write(Buffer.from([1]), 0, 1, (1 << 30) - 1);
    await handle.close();
    const { size, extents } = await dataExtents(file);
    expect(size).toBe(1 << 30);
    expect(extents).toEqual([
      { offset: 5 * 4096, length: 3 * 4096 },
      { offset: (1 << 30) - 4096, length: 4096 },
    ]);
  });

  it('handles a short tail block and an empty file', async () => {
    const tail = path.join(dir, 'tail.img');
    await writeFile(tail, Buffer.concat([Buffer.alloc(4096), Buffer.from('abc')]));
    expect((await dataExtents(tail)).extents).toEqual([{ offset: 4096, length: 3 }]);
    const empty = path.join(dir, 'empty.img');
    await writeFile(empty, '');
    expect(await dataExtents(empty)).toEqual({ size: 0, extents: [] });
  });
});

describe('mergeExtents', () => {
  it('joins touching ranges only', () => {
    expect(
      mergeExtents([
        { offset: 0, length: 4 },
        { offset: 4, length: 4 },
        { offset: 9, length: 1 },
      ]),
    ).toEqual([
      { offset: 0, length: 8 },
      { offset: 9, length: 1 },
    ]);
  });
});

describe('copyRangeInKernel', () => {
  it("fails with errno's name as the error code (so a full disk is named ENOSPC, not a bare failure)", () => {
    let failure: unknown;
    try {
      copyRangeInKernel(-1, 0, -1, 0, 4096);
    } catch (error) {
      failure = error;
    }
    expect(failure).toMatchObject({ code: 'EBADF', message: 'copy_file_range: Bad file descriptor' });
  });
});
