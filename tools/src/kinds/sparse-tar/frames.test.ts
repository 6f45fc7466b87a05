import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { icosInProcess, sha256sum, useTempDir } from '../../../../test/support/tools.ts';
import { encodeIndexFrame } from './frames.ts';
import { noisyBytes, sparseFile, tool } from './testing.ts';

const MiB = 1024 * 1024;

/** The index as the archive's last bytes hold it: read here by hand, not through frames.ts. */
function indexOf(archive: Buffer): { codec: string; frames: Array<{ sha256: string; raw: number; at: number; size: number; frameSha256: string }> } {
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
    // The inverse of the byte there: a fixed byte equals the random one once in 256 runs (a CI run met that).
    await writeFile(temp.at('patch'), Buffer.from([second[7]! ^ 0xff]));
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

  /** Runs `pack --reuse` of `reuse` and expects a located refusal and no output at all. */
  async function expectRefusedReuse(reuse: string, message: string): Promise<void> {
    const out = temp.at('refused.tzst');
    const run = await icosInProcess(['pack', '--out', out, '--member', `partition.img=${image()}`, '--reuse', reuse]);
    expect(run.stderr).toContain(message);
    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(tool('ls', ['-a', temp.dir]).toString()).not.toMatch(/refused/);
  }

  it('refuses to copy a frame whose bytes changed since icos wrote them, leaving no output', async () => {
    const archive = await readFile(temp.at('a.tzst'));
    const frame = indexOf(archive).frames[1]!;
    // A flipped byte deep inside the second data frame (a bit of bit rot).
    const at = frame.at + Math.floor(frame.size / 2);
    archive[at] = archive[at]! ^ 0x40;
    await writeFile(temp.at('rotten.tzst'), archive);
    await expectRefusedReuse(temp.at('rotten.tzst'), `icos: sparse-tar: reused frame at byte ${frame.at} of "${temp.at('rotten.tzst')}": its bytes do not match the sha256 the index gives (the archive is corrupt)`);
  });

  it('refuses an index rewritten to name other content, even with the frame hashes recomputed', async () => {
    // The index of b.img's archive claims a.img's windows live at b's frames: a reuse that trusted
    // it would put b's bytes under a's name. b's frameSha256 values are the true hashes of b's frames.
    const other = temp.at('other.img');
    await sparseFile(other, 40 * MiB, [[1 * MiB, noisyBytes(20 * MiB)], [35 * MiB, noisyBytes(1 * MiB)]]);
    await pack(temp.at('other.tzst'), other);
    const forged = await readFile(temp.at('other.tzst'));
    const { codec, frames } = indexOf(forged);
    const wanted = indexOf(await readFile(temp.at('a.tzst'))).frames;
    const lying = frames.map((frame, i) => ({ ...frame, sha256: wanted[i]!.sha256, raw: wanted[i]!.raw }));
    const tail = indexOf(forged);
    const indexBytes = 8 + JSON.stringify(tail).length + 12;
    await writeFile(temp.at('forged.tzst'), Buffer.concat([forged.subarray(0, forged.length - indexBytes), encodeIndexFrame(codec, lying)]));
    await expectRefusedReuse(temp.at('forged.tzst'), `": does not decompress to the bytes the index names (the archive's index is wrong)`);
  });

  it('refuses a --reuse file that is not an archive made by icos', async () => {
    await writeFile(temp.at('plain.txt'), 'hello\n');
    tool('zstd', ['-q', '-f', temp.at('plain.txt'), '-o', temp.at('plain.tar.zst')]);
    for (const file of [temp.at('plain.txt'), temp.at('plain.tar.zst')]) {
      await expectRefusedReuse(file, `icos: sparse-tar: archive to reuse frames from: "${file}": not an archive made by icos (it does not end in an icos frame index)`);
    }
  });

  describe('a malformed index is refused with the field at fault', () => {
    const cases: Array<[string, (index: Record<string, unknown>) => unknown, string]> = [
      ['frames is a number', (index) => ({ ...index, frames: 5 }), 'field "frames": Expected array, received number'],
      ['the index is null', () => null, 'field "(top level)": Expected object, received null'],
      ['a negative offset', (index) => ({ ...index, frames: (index.frames as object[]).map((f) => ({ ...f, at: -1 })) }), 'field "frames.0.at": Number must be greater than or equal to 0'],
      ['a fractional length', (index) => ({ ...index, frames: (index.frames as object[]).map((f) => ({ ...f, size: 1.5 })) }), 'field "frames.0.size": Expected integer, received float'],
      ['an unknown format', (index) => ({ ...index, format: 'icos-frames/1' }), 'field "format": Invalid literal value, expected "icos-frames/2"'],
      ['frames that overlap', (index) => ({ ...index, frames: (index.frames as object[]).map((f) => ({ ...f, at: 0 })) }), 'field "frames.1": bytes 0 to'],
      ['a frame past the index', (index) => ({ ...index, frames: (index.frames as object[]).map((f) => ({ ...f, at: 1 << 30 })) }), 'field "frames.0": bytes 1073741824 to'],
    ];
    it.each(cases)('%s', async (_label, rewrite, message) => {
      const archive = await readFile(temp.at('a.tzst'));
      const index = indexOf(archive) as unknown as Record<string, unknown>;
      const body = archive.subarray(0, archive.length - (8 + JSON.stringify(index).length + 12));
      const json = Buffer.from(JSON.stringify(rewrite(index)));
      const frame = Buffer.alloc(8 + json.length + 12);
      frame.writeUInt32LE(0x184d2a5e, 0);
      frame.writeUInt32LE(json.length + 12, 4);
      json.copy(frame, 8);
      frame.writeUInt32LE(json.length, 8 + json.length);
      frame.write('icosidx1', 12 + json.length, 'latin1');
      const file = temp.at('malformed.tzst');
      await writeFile(file, Buffer.concat([body, frame]));
      await expectRefusedReuse(file, `icos: sparse-tar: archive "${file}": frame index: ${message}`);
    });
  });

  it('refuses a FIFO as reuse archive without opening it', async () => {
    tool('mkfifo', [temp.at('fifo.tzst')]);
    const run = await icosInProcess(['pack', '--out', temp.at('f.tzst'), '--member', `partition.img=${image()}`, '--reuse', temp.at('fifo.tzst')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`icos: sparse-tar: archive to reuse frames from: "${temp.at('fifo.tzst')}": is a FIFO, expected a regular file\n`);
  });

  it('names a missing reuse archive', async () => {
    const run = await icosInProcess(['pack', '--out', temp.at('d.tzst'), '--member', `partition.img=${image()}`, '--reuse', temp.at('none.tzst')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`icos: sparse-tar: archive to reuse frames from: "${temp.at('none.tzst')}": cannot be read: no such file or directory`);
  });
});
