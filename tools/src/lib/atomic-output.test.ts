import { execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/support/tools.ts';
import { UsageError } from '../cli/command.ts';
import { UserError } from '../errors.ts';
import { withScratchDir, writeAtomically, writeAtomicallyTogether } from './atomic-output.ts';
import { copyFile, writeFile } from 'node:fs/promises';

describe('writeAtomically', () => {
  const temp = makeTempDir('atomic');
  afterAll(() => temp.remove());

  it('renames a finished output into place', async () => {
    const out = path.join(temp.dir, 'ok.img');
    await writeAtomically(out, (tempPath) => writeFile(tempPath, 'done'));
    expect(readdirSync(temp.dir)).toEqual(['ok.img']);
  });

  it('removes the partial file and keeps the old output when the build fails', async () => {
    const out = path.join(temp.dir, 'ok.img');
    await expect(
      writeAtomically(out, async (tempPath) => {
        await writeFile(tempPath, 'half');
        throw new Error('tool failed');
      }),
    ).rejects.toThrow('tool failed');
    expect(readdirSync(temp.dir)).toEqual(['ok.img']);
  });

  it('removes partial outputs when the process gets SIGTERM mid-build', async () => {
    const out = path.join(temp.dir, 'killed.img');
    // A child that starts writing and then hangs, as a long mke2fs or copy would.
    const child = spawn(process.execPath, [
      '--import', 'tsx', '-e',
      `import { writeAtomically } from ${JSON.stringify(path.resolve('tools/src/lib/atomic-output.ts'))};
       import { writeFileSync } from 'node:fs';
       await writeAtomically(${JSON.stringify(out)}, async (p) => { writeFileSync(p, 'partial'); console.log('started'); await new Promise(() => setInterval(() => {}, 1000)); });`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    expect(readdirSync(temp.dir).some((f) => f.startsWith('.killed.img.partial-'))).toBe(true);
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(143);
    expect(stderr).toContain('icos: interrupted by SIGTERM: partial outputs removed');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(temp.dir).filter((f) => f.includes('killed'))).toEqual([]);
  });
});

describe('writeAtomically refuses outputs it must not replace', () => {
  const temp = makeTempDir('atomic-refuse');
  afterAll(() => temp.remove());
  const at = (name: string) => path.join(temp.dir, name);
  execFileSync('mkfifo', [at('fifo')]);
  mkdirSync(at('dir'));
  symlinkSync('/dev/null', at('link-to-null'));

  it.each([
    ['/dev/null', 'a character device'],
    ['dir', 'a directory'],
    ['fifo', 'a FIFO'],
    ['link-to-null', 'a symbolic link to a character device'],
  ])('%s (%s)', async (name, found) => {
    const out = name.startsWith('/') ? name : at(name);
    const before = lstatSync(out);
    let built = false;
    const error = await writeAtomically(out, async () => {
      built = true;
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(`output "${out}": is ${found}: only a regular file (or nothing) is replaced by an output`);
    expect(built).toBe(false);
    const after = lstatSync(out);
    expect([after.ino, after.mode, after.rdev]).toEqual([before.ino, before.mode, before.rdev]);
    expect(readdirSync(path.dirname(out)).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it('refuses an empty path as a usage error, naming no partial file', async () => {
    const error = await writeAtomically('', async () => undefined, '--out ""').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe('--out "": expected a file path');
  });

  it('names a missing directory by the output, not the partial file', async () => {
    const out = at('missing/x.img');
    await expect(writeAtomically(out, async () => undefined)).rejects.toThrow(
      `output "${out}": its directory cannot be used: no such file or directory`,
    );
  });

  it('maps system errors on the partial file to the output path', async () => {
    const out = at('mapped.img');
    const error = await writeAtomically(out, async (tempPath) => {
      const failure = Object.assign(new Error(`EACCES: permission denied, open '${tempPath}'`), { code: 'EACCES', path: tempPath });
      throw failure;
    }).catch((e: unknown) => e as NodeJS.ErrnoException);
    expect(error.path).toBe(out);
    expect(error.message).not.toContain('.partial-');
  });

  it('names the output for ENOSPC and EFBIG of writes to the open partial file', async () => {
    const out = at('full.img');
    for (const code of ['ENOSPC', 'EFBIG']) {
      const error = await writeAtomically(out, async () => {
        throw Object.assign(new Error(`${code}: write`), { code, syscall: 'write' });
      }).then(() => new Error('no failure'), (e: unknown) => e as Error);
      expect(error).toBeInstanceOf(UserError);
      expect(error.message).toMatch(new RegExp(`^output "${out}": cannot be written: (no space left on device|file too large)`));
    }
  });
});

describe('writeAtomicallyTogether', () => {
  const temp = makeTempDir('atomic-together');
  afterAll(() => temp.remove());

  it('renames all outputs, or leaves none when a later rename fails', async () => {
    const image = path.join(temp.dir, 'image.img');
    const hash = path.join(temp.dir, 'hash');
    await writeAtomicallyTogether([{ path: image }, { path: hash }], async ([imageTemp, hashTemp]) => {
      writeFileSync(imageTemp!, 'image');
      writeFileSync(hashTemp!, 'hash');
    });
    expect(readdirSync(temp.dir).sort()).toEqual(['hash', 'image.img']);
    rmSync(image);
    rmSync(hash);
    // The second output's partial file is missing at rename time: the first, renamed, goes too.
    await expect(
      writeAtomicallyTogether([{ path: image }, { path: hash }], async ([imageTemp, hashTemp]) => {
        writeFileSync(imageTemp!, 'image');
        writeFileSync(hashTemp!, 'hash');
        rmSync(hashTemp!);
      }),
    ).rejects.toThrow(`output "${hash}": cannot be written: no such file or directory`);
    expect(readdirSync(temp.dir)).toEqual([]);
  });
});

/** Starts a child that begins an atomic write and a scratch dir, then waits; returns it once started. */
async function startHangingWriter(out: string, tmpDir: string) {
  const child = spawn(process.execPath, [
    '--import', 'tsx', '-e',
    `import { withScratchDir, writeAtomically } from ${JSON.stringify(path.resolve('tools/src/lib/atomic-output.ts'))};
     import { writeFileSync } from 'node:fs';
     await writeAtomically(${JSON.stringify(out)}, (p) => withScratchDir('reap', async (dir) => {
       writeFileSync(p, 'partial'); writeFileSync(dir + '/scratch', 'x'); console.log('started');
       await new Promise(() => setInterval(() => {}, 1000));
     }));`,
  ], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TMPDIR: tmpDir } });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return child;
}

describe('leftovers of runs killed with SIGKILL', () => {
  const temp = makeTempDir('atomic-reap');
  afterAll(() => temp.remove());

  it('are removed by the next run, and those of live runs are kept', async () => {
    const outDir = path.join(temp.dir, 'out');
    const tmpDir = path.join(temp.dir, 'tmp');
    mkdirSync(outDir);
    mkdirSync(tmpDir);
    const out = path.join(outDir, 'disk.img');
    const dead = await startHangingWriter(out, tmpDir);
    const live = await startHangingWriter(out, tmpDir);
    try {
      dead.kill('SIGKILL');
      await new Promise((resolve) => dead.on('exit', resolve));
      const leftovers = () => [...readdirSync(outDir), ...readdirSync(tmpDir)].sort();
      const ofDead = leftovers().filter((f) => f.includes(String(dead.pid)));
      expect(ofDead).toEqual([`.disk.img.partial-${dead.pid}-1`, expect.stringMatching(new RegExp(`^icos-reap\\.pid${dead.pid}\\.\\d+-`))].sort());
      const ofLive = leftovers().filter((f) => f.includes(String(live.pid)));
      expect(ofLive).toHaveLength(2);

      const savedTmpDir = process.env.TMPDIR;
      process.env.TMPDIR = tmpDir;
      try {
        await writeAtomically(out, (p) => withScratchDir('reap', async () => writeFileSync(p, 'done')));
      } finally {
        process.env.TMPDIR = savedTmpDir;
      }
      expect(leftovers().filter((f) => f.includes(String(dead.pid)))).toEqual([]);
      expect(leftovers().filter((f) => f.includes(String(live.pid)))).toEqual(ofLive);
      expect(readFileSync(out, 'utf8')).toBe('done');
    } finally {
      live.kill('SIGKILL');
    }
  });
});

/** A tmpfs of `size` mounted under a temp dir, or undefined where mounting is not permitted. */
function mountSmallTmpfs(dir: string, size: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return undefined;
  }
}

describe('a full file system', () => {
  const temp = makeTempDir('atomic-full');
  const small = path.join(temp.dir, 'small');
  mkdirSync(small);
  const mounted = mountSmallTmpfs(small, '1m');
  afterAll(() => {
    if (mounted !== undefined) execFileSync('umount', [small]);
    temp.remove();
  });
  const fill = (file: string) => writeFileSync(file, Buffer.alloc(2 * 1024 * 1024));

  it.skipIf(mounted === undefined)('under the output is named by the output path, not --size', async () => {
    const out = path.join(small, 'root.img');
    const direct = await writeAtomically(out, async (p) => fill(p)).then(() => new Error('no failure'), (e: unknown) => e as Error);
    expect(direct.message).toBe(`output "${out}": cannot be written: no space left on device`);
    // A kind that reads a tool's "No space left" as its own size problem is corrected.
    const sized = await writeAtomically(out, async (p) => {
      try {
        fill(p);
      } catch {
        throw new UserError('ext4(root.img): content of 2 MiB does not fit in --size 8 MiB once ext4 metadata is added');
      }
    }).then(() => new UserError('no failure'), (e: unknown) => e as UserError);
    expect(sized.message).toBe(`output "${out}": cannot be written: no space left on device`);
    expect(sized.hint).toBe('free space there and run again');
    expect(readdirSync(small)).toEqual([]);
  });

  it.skipIf(mounted === undefined)('under TMPDIR is named as TMPDIR even when the failed copy freed its space', async () => {
    const source = path.join(temp.dir, 'big.bin');
    writeFileSync(source, Buffer.alloc(2 * 1024 * 1024, 1));
    const savedTmpDir = process.env.TMPDIR;
    process.env.TMPDIR = small;
    try {
      const error = await withScratchDir('ext4', (dir) => copyFile(source, path.join(dir, 'big'))).then(
        () => new UserError('no failure'),
        (e: unknown) => e as UserError,
      );
      expect(error.message).toBe(`TMPDIR "${small}": no space left on device for the scratch files of ext4`);
    } finally {
      process.env.TMPDIR = savedTmpDir;
      rmSync(source);
    }
    expect(readdirSync(small)).toEqual([]);
  });

  it.skipIf(mounted === undefined)('under TMPDIR is named as TMPDIR, not as the source', async () => {
    const out = path.join(temp.dir, 'out.img');
    const savedTmpDir = process.env.TMPDIR;
    process.env.TMPDIR = small;
    try {
      const error = await writeAtomically(out, () =>
        withScratchDir('ext4', async (dir) => {
          try {
            fill(path.join(dir, 'member'));
          } catch {
            throw new UserError('--src "rootfs.tar": cannot be read: no space left on device');
          }
        }),
      ).then(() => new UserError('no failure'), (e: unknown) => e as UserError);
      expect(error.message).toBe(`TMPDIR "${small}": no space left on device for the scratch files of ext4`);
    } finally {
      process.env.TMPDIR = savedTmpDir;
    }
    expect(readdirSync(small)).toEqual([]);
    expect(readdirSync(temp.dir).sort()).toEqual(['small']);
  });
});
