import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { icosInProcess } from '../../../test/support/tools.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { noisyBytes, sparseFile } from '../kinds/sparse-tar/testing.ts';
import { peekArchivedImage, writeArchivedImage } from './image-stream.ts';

const MIB = 1024 * 1024;
const runner = new ExecaCommandRunner();

describe('writeArchivedImage: an archive member streamed onto a disk', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'icos-image-stream-'));
  const image = path.join(dir, 'disk.img');
  const archive = path.join(dir, 'disk-img.tar.zst');
  // Data at the start (the "head"), in the middle, and in the last 64 KiB (the "tail").
  const head = noisyBytes(MIB);
  const middle = noisyBytes(3 * MIB + 123);
  const tail = noisyBytes(64 * 1024);
  const size = 64 * MIB;

  beforeAll(async () => {
    await sparseFile(image, size, [[0, head], [20 * MIB, middle], [size - tail.length, tail]]);
    const { code, stderr } = await icosInProcess(['pack', '--out', archive, '--member', `disk.img=${image}`]);
    expect(stderr).toContain('wrote');
    expect(code).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('peeks the member without reading it all', async () => {
    expect(await peekArchivedImage(archive, '--archive', runner)).toEqual({ name: 'disk.img', realSize: size, storedBytes: expect.any(Number) });
  });

  it('writes the same bytes as GNU tar extracts, at an offset, holding the head and dropping the tail', async () => {
    const target = path.join(dir, 'target.img');
    await sparseFile(target, size + 8 * MIB, []);
    const handle = await open(target, 'r+');
    const written = await writeArchivedImage(
      { archive, target: handle, targetOffset: 8 * MIB, limit: size, holdHead: MIB, dropFrom: (held, realSize) => (held.equals(head) ? realSize - tail.length : 0) },
      runner,
    );
    await handle.close();
    expect(written.head.equals(head)).toBe(true);
    // Stored in whole 4 KiB blocks.
    expect(written.writtenBytes).toBe(Math.ceil(middle.length / 4096) * 4096);
    // Independent check: GNU tar's extraction of the same archive, compared with cmp.
    execFileSync('sh', ['-c', `zstd -dc ${archive} | tar -xS -C ${dir} -f - --transform s/disk.img/tar.img/`]);
    const tarImage = path.join(dir, 'tar.img');
    const bytes = readFileSync(target);
    expect(bytes.subarray(8 * MIB, 9 * MIB).every((b) => b === 0)).toBe(true);
    expect(bytes.subarray(8 * MIB + size - tail.length).every((b) => b === 0)).toBe(true);
    execFileSync('cmp', ['-n', String(size - tail.length - MIB), '-i', `${MIB}:${8 * MIB + MIB}`, tarImage, target]);
  });

  it('refuses an image larger than the room for it, and a truncated archive, by name', async () => {
    const target = path.join(dir, 'small.img');
    await sparseFile(target, MIB, []);
    const handle = await open(target, 'r+');
    await expect(writeArchivedImage({ archive, target: handle, targetOffset: 0, limit: MIB }, runner)).rejects.toThrow(
      `${archive}: its image "disk.img" is ${size} bytes, the room for it on the target is ${MIB}`,
    );
    const truncated = path.join(dir, 'truncated.tar.zst');
    execFileSync('sh', ['-c', `zstd -dc ${archive} | head -c ${2 * MIB} | zstd -q > ${truncated}`]);
    await expect(writeArchivedImage({ archive: truncated, target: handle, targetOffset: 0, limit: size }, runner)).rejects.toThrow(/the archive ends inside "disk.img"/);
    await handle.close();
  });
});
