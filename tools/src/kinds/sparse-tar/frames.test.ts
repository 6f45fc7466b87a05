import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { icosInProcess, sha256sum, useTempDir } from '../../../../test/support/tools.ts';
import { encodeIndexFrame } from './frames.ts';
import { noisyBytes, sparseFile, tool } from './testing.ts';

const MiB = 1024 * 1024;

/** The index as the archive's last bytes hold it: read here by hand, not through frames.ts. */
function indexOf(archive: Buffer): { codec: string; frames: Array<{ sha256: string; raw: number; at: number; size: number }> } {
  expect(archive.subarray(-8).toString('latin1')).toBe('icosidx1');
  const jsonLength = archive.readUInt32LE(archive.length - 12);
  return JSON.parse(archive.subarray(archive.length - 12 - jsonLength, archive.length - 12).toString('utf8'));
}

/** `zstd -l` of an archive: its counts of zstd and skippable frames. */
function frameCounts(archive: string): { zstd: number; skippable: number } {
  const listing = tool('zstd', ['-lv', archive]).toString();
  return {
    zstd: Number(/# Zstandard Frames: (\d+)/.exec(listing)?.[1]),
    skippable: Number(/# Skippable Frames: (\d+)/.exec(listing)?.[1] ?? 0),
  };
}

describe('framed zstd archives', () => {
  const temp = useTempDir('frames');
  // 40 MiB: one data run across the 16 MiB window boundary (windows 0 and 1), one in window 2.
  const image = () => temp.at('a.img');
  const first = noisyBytes(20 * MiB);
  const second = noisyBytes(1 * MiB);

  beforeAll(async () => {
    await sparseFile(image(), 40 * MiB, [[1 * MiB, first], [35 * MiB, second]]);
  });

  async function pack(out: string, member: string, ...more: string[]): Promise<string> {
    const run = await icosInProcess(['--verbose', 'pack', '--out', out, '--member', `partition.img=${member}`, ...more]);
    expect(run.stderr.replace(/^\+ .*\n/gm, '')).not.toMatch(/error|icos:/i);
    expect(run.code, run.stderr).toBe(0);
    return run.stderr;
  }

  it('is a run of zstd frames and one skippable index that zstd decompresses to the plain tar', async () => {
    await pack(temp.at('a.tzst'), image());
    await pack(temp.at('a.tar'), image());
    tool('zstd', ['-q', '-t', temp.at('a.tzst')]);
    expect(tool('zstd', ['-q', '-dc', temp.at('a.tzst')]).equals(await readFile(temp.at('a.tar')))).toBe(true);
    // Three data windows, the header before them and the padding and end of archive after them.
    expect(frameCounts(temp.at('a.tzst'))).toEqual({ zstd: 5, skippable: 1 });
  });

  it('indexes every data frame by the sha256 and length of what zstd decompresses from it', async () => {
    const archive = await readFile(temp.at('a.tzst'));
    const { frames, codec } = indexOf(archive);
    expect(codec).toMatch(/^zstd \d+\.\d+\.\d+ -8 --long=24$/);
    expect(frames.map((frame) => frame.raw)).toEqual([15 * MiB, 5 * MiB, 1 * MiB]);
    for (const frame of frames) {
      const bytes = tool('zstd', ['-q', '-dc'], archive.subarray(frame.at, frame.at + frame.size));
      expect(bytes.length).toBe(frame.raw);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(frame.sha256);
    }
    const data = Buffer.concat(frames.map((frame) => tool('zstd', ['-q', '-dc'], archive.subarray(frame.at, frame.at + frame.size))));
    expect(data.equals(Buffer.concat([first, second]))).toBe(true);
  });

  it('copies unchanged frames from --reuse archives and writes the bytes it would have compressed', async () => {
    const changed = temp.at('b.img');
    tool('cp', ['--sparse=always', image(), changed]);
    await writeFile(temp.at('patch'), 'X');
    tool('dd', [`if=${temp.at('patch')}`, `of=${changed}`, 'bs=1', `seek=${35 * MiB + 7}`, 'conv=notrunc', 'status=none']);
    const log = await pack(temp.at('b-reused.tzst'), changed, '--reuse', temp.at('a.tzst'));
    expect(log).toContain('1 data frames compressed, 2 copied from input archives');
    await pack(temp.at('b.tzst'), changed);
    expect(sha256sum(temp.at('b-reused.tzst'))).toBe(sha256sum(temp.at('b.tzst')));
    const out = temp.at('b-out');
    tool('mkdir', [out]);
    tool('tar', ['-xS', '--zstd', '-f', temp.at('b-reused.tzst'), '-C', out]);
    tool('cmp', [path.join(out, 'partition.img'), changed]);
  });

  it('never copies frames compressed at another level', async () => {
    const manifest = temp.at('fast.json');
    const members = [{ name: 'partition.img', path: image() }];
    await writeFile(manifest, JSON.stringify({ kind: 'sparse-tar', out: temp.at('fast.tzst'), options: { members, compression: 'zstd-fast' } }));
    expect((await icosInProcess(['build', '--manifest', manifest])).code).toBe(0);
    expect(indexOf(await readFile(temp.at('fast.tzst'))).codec).toMatch(/ -1$/);
    expect(await pack(temp.at('a-again.tzst'), image(), '--reuse', temp.at('fast.tzst'))).toContain('3 data frames compressed, 0 copied');
    expect(await pack(temp.at('a-again.tzst'), image(), '--reuse', temp.at('a.tzst'))).toContain('0 data frames compressed, 3 copied');
  });

  it('rejects a reuse archive whose index points at bytes that are not a zstd frame, leaving no output', async () => {
    const archive = await readFile(temp.at('a.tzst'));
    const { codec, frames } = indexOf(archive);
    const lying = Buffer.concat([Buffer.alloc(64 * 1024, 7), encodeIndexFrame(codec, frames.map((frame) => ({ ...frame, at: 0, size: 1024 })))]);
    await writeFile(temp.at('lying.tzst'), lying);
    const run = await icosInProcess(['pack', '--out', temp.at('c.tzst'), '--member', `partition.img=${image()}`, '--reuse', temp.at('lying.tzst')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`icos: sparse-tar: reused frame at byte 0 of "${temp.at('lying.tzst')}": not a zstd frame (the archive's index is wrong)`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(tool('ls', [temp.dir]).toString()).not.toContain('c.tzst');
  });

  it('names a missing reuse archive', async () => {
    const run = await icosInProcess(['pack', '--out', temp.at('d.tzst'), '--member', `partition.img=${image()}`, '--reuse', temp.at('none.tzst')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`icos: sparse-tar: archive to reuse frames from: "${temp.at('none.tzst')}": no such file or directory`);
  });
});
