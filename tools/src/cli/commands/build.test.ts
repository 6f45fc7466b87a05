import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.ts';

/** Runs `icos build --manifest` in-process and returns its status and stderr. */
async function icosBuild(manifest: unknown, dir: string): Promise<{ status: number; stderr: string }> {
  const file = path.join(dir, `manifest-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(manifest));
  const messages: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => messages.push(String(chunk)) > 0) as typeof process.stderr.write;
  try {
    const status = await main(['build', '--manifest', file]);
    return { status, stderr: messages.join('') };
  } finally {
    process.stderr.write = write;
  }
}

function run(tool: string, args: string[], cwd?: string): string {
  return execFileSync(tool, args, { cwd, encoding: 'utf8', env: { ...process.env, PATH: `/usr/sbin:/sbin:${process.env.PATH}` } });
}

describe('icos build --manifest', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'icos-build-'));
    await writeFile(path.join(dir, 'hello'), 'hello\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('builds an ext4 image packed as the one member of a .tzst, then unpacks it for verity', async () => {
    const packed = path.join(dir, 'root.tzst');
    const ext4 = await icosBuild(
      {
        kind: 'ext4',
        out: packed,
        packAs: 'partition.img',
        options: { artifact: 'root.tzst', size: '8M', extra: [`${dir}/hello:/hello:0644`] },
      },
      dir,
    );
    expect(ext4.stderr).toBe('');
    expect(ext4.status).toBe(0);
    const listing = run('tar', ['--zstd', '-tvf', packed]);
    expect(listing.trim().split('\n')).toHaveLength(1);
    expect(listing).toContain('partition.img');
    const unpacked = path.join(dir, 'unpacked');
    run('mkdir', ['-p', unpacked]);
    run('tar', ['--zstd', '-xf', packed, '-C', unpacked]);
    const image = path.join(unpacked, 'partition.img');
    expect((await stat(image)).size).toBe(8 * 1024 * 1024);
    run('e2fsck', ['-fn', image]);
    expect(run('debugfs', ['-R', 'cat /hello', image])).toBe('hello\n');

    const signed = path.join(dir, 'root-signed.tzst');
    const hashFile = path.join(dir, 'root-hash');
    const verity = await icosBuild(
      {
        kind: 'verity',
        out: signed,
        unpack: { image: packed },
        packAs: 'partition.img',
        rootHashOut: hashFile,
        options: { image: 'unpacked:image', hashOffset: 8 * 1024 * 1024, salt: '-', uuid: '1736291d-aceb-42d7-b044-43ee31d86cd4' },
      },
      dir,
    );
    expect(verity.status).toBe(0);
    const verified = path.join(dir, 'verified');
    run('mkdir', ['-p', verified]);
    run('tar', ['--zstd', '-xf', signed, '-C', verified]);
    const signedImage = path.join(verified, 'partition.img');
    const rootHash = (await readFile(hashFile, 'utf8')).trim();
    expect(rootHash).toMatch(/^[0-9a-f]{64}$/);
    run('veritysetup', ['verify', signedImage, signedImage, rootHash, `--hash-offset=${8 * 1024 * 1024}`]);
  });

  it('names the manifest and the field when the manifest is wrong', async () => {
    const unknownKind = await icosBuild({ kind: 'squashfs', out: path.join(dir, 'x.img'), options: {} }, dir);
    expect(unknownKind.status).toBe(1);
    expect(unknownKind.stderr).toMatch(/^icos: manifest ".*\.json": kind "squashfs": expected one of .*ext4/);
    const stray = await icosBuild({ kind: 'ext4', out: path.join(dir, 'x.img'), options: {}, rootHashOut: 'h' }, dir);
    expect(stray.stderr).toContain('field "rootHashOut": only the verity kind has a root hash');
    const missing = await icosBuild({ kind: 'ext4', out: path.join(dir, 'x.img'), options: { artifact: 'x', size: '1M', src: 'unpacked:rootfs' } }, dir);
    expect(missing.stderr).toContain('"unpacked:rootfs": no "rootfs" in field "unpack"');
    // A misspelt option is refused, not dropped (the artifact would be built without it).
    const misspelt = await icosBuild({ kind: 'ext4', out: path.join(dir, 'x.img'), options: { artifact: 'x', size: '8M', colour: 'blue', lable: 'x' } }, dir);
    expect(misspelt.status).toBe(1);
    expect(misspelt.stderr).toBe('icos: ext4: option "colour": not an option of this kind\next4: option "lable": not an option of this kind\n');
    await expect(stat(path.join(dir, 'x.img'))).rejects.toThrow();
  });
});

describe('icos build --manifest with injected files and fast intermediates', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'icos-build-inject-'));
    await writeFile(path.join(dir, 'tool'), 'late tool\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('injects into an unpacked base and packs with zstd-fast, readable by zstd and tar', async () => {
    const base = path.join(dir, 'base.tzst');
    const made = await icosBuild({ kind: 'ext4', out: base, packAs: 'partition.img', packCompression: 'zstd-fast', options: { artifact: 'base.tzst', size: '8M' } }, dir);
    expect([made.status, made.stderr]).toEqual([0, '']);
    const injected = path.join(dir, 'root.tzst');
    const inject = await icosBuild(
      {
        kind: 'ext4-inject',
        out: injected,
        unpack: { base },
        packAs: 'partition.img',
        packCompression: 'zstd-fast',
        options: { artifact: 'root.tzst', base: 'unpacked:base', extra: [`${dir}/tool:/opt/ic/bin/tool:0755`] },
      },
      dir,
    );
    expect([inject.status, inject.stderr]).toEqual([0, '']);
    run('zstd', ['-t', '-q', injected]);
    const out = path.join(dir, 'out');
    run('mkdir', ['-p', out]);
    run('tar', ['--zstd', '-xf', injected, '-C', out]);
    run('e2fsck', ['-fn', path.join(out, 'partition.img')]);
    expect(run('debugfs', ['-R', 'cat /opt/ic/bin/tool', path.join(out, 'partition.img')])).toBe('late tool\n');
  });

  it('refuses packCompression without packAs', async () => {
    const result = await icosBuild({ kind: 'ext4', out: path.join(dir, 'x.tzst'), packCompression: 'zstd-fast', options: { artifact: 'x', size: '8M' } }, dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('field "packCompression": needs "packAs"');
    await expect(stat(path.join(dir, 'x.tzst'))).rejects.toThrow();
  });
});
