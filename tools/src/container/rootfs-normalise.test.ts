import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile, chown, link, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../errors.ts';
import { compareTreeOrder, normaliseRootfsTar } from './rootfs-normalise.ts';

// Inputs are made by GNU tar and the outputs read back by GNU tar and getfattr: never by our own code.
let work: string;

function sh(command: string, args: string[], cwd = work): string {
  return execFileSync(command, args, { cwd, encoding: 'latin1', env: { ...process.env, LC_ALL: 'C' } });
}

async function normalise(input: string, mtime = 1_700_000_000): Promise<string> {
  const out = path.join(work, `out-${path.basename(input)}`);
  const scratchDir = await mkdtemp(path.join(work, 'scratch-'));
  await normaliseRootfsTar(createReadStream(input), out, { mtime, artifact: 'rootfs(test.tar)', scratchDir });
  return out;
}

const LONG_DIR = `usr/share/${'d'.repeat(60)}/${'e'.repeat(60)}`;
const LONG_FILE = `${LONG_DIR}/${'f'.repeat(90)}.txt`;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'icos-normalise-test-'));
  const tree = path.join(work, 'tree');
  await mkdir(path.join(tree, 'etc'), { recursive: true });
  await mkdir(path.join(tree, 'run/lock/sub'), { recursive: true });
  await mkdir(path.join(tree, 'dev'), { recursive: true });
  await mkdir(path.join(tree, LONG_DIR), { recursive: true });
  await mkdir(path.join(tree, 'a'), { recursive: true });
  await writeFile(path.join(tree, 'a/file'), 'in a\n');
  await writeFile(path.join(tree, 'a-b'), 'beside a\n');
  await writeFile(path.join(tree, 'a/empty'), '');
  await writeFile(path.join(tree, 'etc/zz-target'), 'shared data\n');
  await link(path.join(tree, 'etc/zz-target'), path.join(tree, 'etc/aa-link'));
  await writeFile(path.join(tree, 'etc/owned'), 'owned\n');
  await chown(path.join(tree, 'etc/owned'), 1234, 5678);
  await writeFile(path.join(tree, 'run/lock/sub/pid'), '42\n');
  await writeFile(path.join(tree, 'run/utmp'), '');
  await writeFile(path.join(tree, LONG_FILE), 'long\n');
  await writeFile(path.join(tree, 'etc/xattr'), 'labelled\n');
  sh('setfattr', ['-n', 'user.icos', '-v', 'text value', path.join(tree, 'etc/xattr')]);
  sh('setfattr', ['-n', 'user.binary', '-v', '0x00ff8001feed', path.join(tree, 'etc/xattr')]);
  sh('mknod', [path.join(tree, 'dev/null'), 'c', '1', '3']);
  sh('mknod', [path.join(tree, 'dev/loop9'), 'b', '7', '9']);
  sh('mkfifo', [path.join(tree, 'dev/fifo')]);
  // Explicit order: the hard link's target comes first in the input, but sorts last.
  sh('tar', ['--xattrs', '--xattrs-include=*', '-cf', path.join(work, 'gnu.tar'), '-C', tree, '--no-recursion',
    '.', 'etc', 'etc/zz-target', 'etc/aa-link', 'etc/owned', 'etc/xattr', 'run', 'run/lock', 'run/lock/sub',
    'run/lock/sub/pid', 'run/utmp', 'dev', 'dev/null', 'dev/loop9', 'dev/fifo', 'usr', 'usr/share',
    `usr/share/${'d'.repeat(60)}`, LONG_DIR, LONG_FILE, 'a-b', 'a', 'a/file', 'a/empty']);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('normaliseRootfsTar on a GNU tar archive', () => {
  it('sorts entries in tree order, as GNU tar --sort=name does', async () => {
    const out = await normalise(path.join(work, 'gnu.tar'));
    const listed = sh('tar', ['-tf', out]).trimEnd().split('\n');
    const extracted = path.join(work, 'extracted-sort');
    await mkdir(extracted);
    sh('tar', ['-xf', out, '-C', extracted]);
    const gnuOrder = sh('sh', ['-c', `tar --sort=name -cf - -C ${extracted} . | tar -tf - | sed -e 's|^\\./||' -e '/^$/d'`])
      .trimEnd()
      .split('\n');
    expect(listed).toEqual(gnuOrder);
    expect(listed.indexOf('a/file')).toBeLessThan(listed.indexOf('a-b'));
  });

  it('gives every entry the fixed mtime, numeric owners and no user or group names', async () => {
    const out = await normalise(path.join(work, 'gnu.tar'));
    const lines = sh('tar', ['--full-time', '-tvf', out]).trimEnd().split('\n');
    for (const line of lines) expect(line).toContain('2023-11-14 22:13:20');
    expect(lines.find((l) => l.endsWith(' etc/owned'))).toMatch(/ 1234\/5678 /);
    expect(lines.find((l) => l.endsWith(' etc/'))).toMatch(/ 0\/0 /);
    // GNU tar prints names when the archive has them: none must be left.
    expect(lines.join('\n')).not.toMatch(/root/);
  });

  it('drops the contents of run/ and keeps run/ itself', async () => {
    const listed = sh('tar', ['-tf', await normalise(path.join(work, 'gnu.tar'))]).split('\n');
    expect(listed).toContain('run/');
    expect(listed.filter((name) => name.startsWith('run/') && name !== 'run/')).toEqual([]);
  });

  it('keeps hard links, the first name in order carrying the data', async () => {
    const out = await normalise(path.join(work, 'gnu.tar'));
    expect(sh('tar', ['-tvf', out])).toMatch(/h[rwx-]{9} 0\/0 +0 [^\n]* etc\/zz-target link to etc\/aa-link/);
    const extracted = path.join(work, 'extracted-links');
    await mkdir(extracted);
    sh('tar', ['-xf', out, '-C', extracted]);
    const [first, second] = await Promise.all([stat(path.join(extracted, 'etc/aa-link')), stat(path.join(extracted, 'etc/zz-target'))]);
    expect(first.ino).toBe(second.ino);
    expect(first.nlink).toBe(2);
    expect(await readFile(path.join(extracted, 'etc/zz-target'), 'utf8')).toBe('shared data\n');
  });

  it('keeps names longer than 100 characters', async () => {
    const out = await normalise(path.join(work, 'gnu.tar'));
    expect(sh('tar', ['-tf', out]).split('\n')).toContain(LONG_FILE);
    expect(sh('tar', ['-xOf', out, LONG_FILE])).toBe('long\n');
  });

  it('keeps extended attributes byte for byte, binary ones too', async () => {
    const out = await normalise(path.join(work, 'gnu.tar'));
    const extracted = path.join(work, 'extracted-xattrs');
    await mkdir(extracted);
    sh('tar', ['--xattrs', '--xattrs-include=*', '-xf', out, '-C', extracted]);
    const dump = sh('getfattr', ['-d', '-e', 'hex', '-m', '-', path.join(extracted, 'etc/xattr')]);
    expect(dump).toContain('user.binary=0x00ff8001feed');
    expect(dump).toContain(`user.icos=0x${Buffer.from('text value').toString('hex')}`);
  });

  it('keeps device nodes and fifos with their numbers', async () => {
    const lines = sh('tar', ['-tvf', await normalise(path.join(work, 'gnu.tar'))]);
    expect(lines).toMatch(/^c[rwx-]{9} 0\/0 +1,3 .* dev\/null$/m);
    expect(lines).toMatch(/^b[rwx-]{9} 0\/0 +7,9 .* dev\/loop9$/m);
    expect(lines).toMatch(/^p[rwx-]{9} 0\/0 .* dev\/fifo$/m);
  });

  it('gives the same bytes for the same input whatever the mtimes of the input', async () => {
    const tree = path.join(work, 'tree');
    const again = path.join(work, 'gnu-touched.tar');
    sh('tar', ['--xattrs', '--xattrs-include=*', '--mtime=2001-01-01', '--sort=name', '-cf', again, '-C', tree, '.']);
    const digest = (file: string): string => sh('sha256sum', [file]).split(' ')[0]!;
    expect(digest(await normalise(again))).toBe(digest(await normalise(path.join(work, 'gnu.tar'))));
  });

  it('refuses an overlay whiteout, naming the entry', async () => {
    const tree = path.join(work, 'layer');
    await mkdir(path.join(tree, 'etc'), { recursive: true });
    await writeFile(path.join(tree, 'etc/.wh.removed'), '');
    sh('tar', ['-cf', path.join(work, 'layer.tar'), '-C', tree, 'etc']);
    await expect(normalise(path.join(work, 'layer.tar'))).rejects.toThrow(
      new UserError('rootfs(test.tar): entry "etc/.wh.removed" is an overlay whiteout: expected a flattened filesystem export, not an image layer'),
    );
  });

  it('refuses a hard link whose target is dropped with run/', async () => {
    const tree = path.join(work, 'dangling');
    await mkdir(path.join(tree, 'run'), { recursive: true });
    await mkdir(path.join(tree, 'etc'), { recursive: true });
    await writeFile(path.join(tree, 'run/data'), 'x');
    await link(path.join(tree, 'run/data'), path.join(tree, 'etc/data'));
    sh('tar', ['-cf', path.join(work, 'dangling.tar'), '-C', tree, '--no-recursion', 'run', 'run/data', 'etc', 'etc/data']);
    await expect(normalise(path.join(work, 'dangling.tar'))).rejects.toThrow(
      'rootfs(test.tar): hard link "etc/data" points to "run/data", which is dropped from the output',
    );
  });
});

/** The same image as each engine exports it: only the engine-owned paths differ (as found with Docker 20.10 and Podman 4.3). */
async function engineExport(engine: 'docker' | 'podman', extra: (tree: string) => Promise<void> = async () => {}): Promise<string> {
  const tree = await mkdtemp(path.join(work, `${engine}-tree-`));
  const put = async (name: string, content: string, mode = 0o644): Promise<void> => {
    await mkdir(path.dirname(path.join(tree, name)), { recursive: true });
    await writeFile(path.join(tree, name), content, { mode });
  };
  await put('usr/bin/tool', 'binary\n', 0o755);
  await put('etc/os-release', 'ID=debian\n');
  await mkdir(path.join(tree, 'run'));
  if (engine === 'docker') {
    // Docker's init layer: empty 0755 placeholders, a link to /proc/mounts, fresh 0755 directories.
    for (const dir of ['dev/pts', 'dev/shm', 'proc', 'sys']) await mkdir(path.join(tree, dir), { recursive: true, mode: 0o755 });
    for (const file of ['.dockerenv', 'dev/console', 'etc/hostname', 'etc/hosts', 'etc/resolv.conf']) await put(file, '', 0o755);
    await symlink('/proc/mounts', path.join(tree, 'etc/mtab'));
  } else {
    // Podman: the image's own files; the image here lacks /sys and /dev/shm, and its /proc is 0555.
    await mkdir(path.join(tree, 'dev/pts'), { recursive: true });
    await mkdir(path.join(tree, 'proc'), { mode: 0o555 });
    sh('mknod', ['-m', '0666', path.join(tree, 'dev/console'), 'c', '5', '1']);
    await put('etc/hostname', 'buildhost\n');
    await put('etc/hosts', '127.0.0.1\tlocalhost\n');
    await put('etc/resolv.conf', 'nameserver 10.0.0.53\n', 0o755);
    await symlink('../proc/self/mounts', path.join(tree, 'etc/mtab'));
    await put('run/.containerenv', 'engine="podman-4.3.1"\n');
    sh('setfattr', ['-n', 'user.label', '-v', 'etc', path.join(tree, 'etc')]);
  }
  await extra(tree);
  const out = path.join(work, `${path.basename(tree)}.tar`);
  sh('tar', ['--xattrs', '--xattrs-include=*', '--sort=name', '-cf', out, '-C', tree, '.']);
  return out;
}

const normalisedExports = new Map<string, Promise<string>>();
/** The normalised plain export of each engine, made once (the tests only read it). */
function normalisedExport(engine: 'docker' | 'podman'): Promise<string> {
  if (!normalisedExports.has(engine)) normalisedExports.set(engine, engineExport(engine).then((input) => normalise(input)));
  return normalisedExports.get(engine)!;
}

function listing(tarPath: string): string[] {
  return sh('tar', ['-tvf', tarPath]).trimEnd().split('\n');
}

function member(tarPath: string, name: string): string {
  const line = listing(tarPath).find((l) => l.endsWith(` ${name}`) || l.includes(` ${name} -> `) || l.includes(` ${name} link to `));
  if (line === undefined) throw new Error(`${name} not in ${tarPath}`);
  return line;
}

describe('normaliseRootfsTar on the paths container engines own', () => {
  it('gives the same bytes from a Docker and a Podman export of the same image', async () => {
    const [docker, podman] = [await normalisedExport('docker'), await normalisedExport('podman')];
    expect(sh('sha256sum', [docker]).split(' ')[0]).toBe(sh('sha256sum', [podman]).split(' ')[0]);
    expect(sh('tar', ['-tf', docker]).split('\n')).toEqual(expect.arrayContaining(['usr/bin/tool', 'etc/os-release', 'run/']));
  });

  it('makes /dev/console the kernel\'s node (c 5,1, 0600), not Docker\'s empty file or the image\'s node', async () => {
    for (const engine of ['docker', 'podman'] as const) {
      expect(member(await normalisedExport(engine), 'dev/console')).toMatch(/^crw------- 0\/0 +5,1 /);
    }
  });

  it('empties /etc/hostname, /etc/hosts and /etc/resolv.conf (0644) whatever the engine left there', async () => {
    for (const engine of ['docker', 'podman'] as const) {
      const out = await normalisedExport(engine);
      for (const name of ['etc/hostname', 'etc/hosts', 'etc/resolv.conf']) {
        expect(member(out, name)).toMatch(/^-rw-r--r-- 0\/0 +0 /);
        expect(sh('tar', ['-xOf', out, name])).toBe('');
      }
    }
  });

  it('points /etc/mtab at ../proc/self/mounts, not Docker\'s /proc/mounts', async () => {
    for (const engine of ['docker', 'podman'] as const) {
      expect(member(await normalisedExport(engine), 'etc/mtab')).toMatch(/^lrwxrwxrwx 0\/0 .* etc\/mtab -> \.\.\/proc\/self\/mounts$/);
    }
  });

  it('has every mount point as a bare 0755 root directory, added where the export lacks it', async () => {
    const out = await normalisedExport('podman');
    for (const dir of ['dev', 'dev/pts', 'dev/shm', 'etc', 'proc', 'sys']) expect(member(out, `${dir}/`)).toMatch(/^drwxr-xr-x 0\/0 /);
    const extracted = path.join(work, 'extracted-mount-points');
    await mkdir(extracted);
    sh('tar', ['--xattrs', '--xattrs-include=*', '-xf', out, '-C', extracted]);
    expect(sh('getfattr', ['-d', '-m', '-', path.join(extracted, 'etc')])).toBe('');
  });

  it('drops the markers engines leave (/.dockerenv, /run/.containerenv)', async () => {
    for (const engine of ['docker', 'podman'] as const) {
      const names = sh('tar', ['-tf', await normalisedExport(engine)]).split('\n');
      expect(names).not.toContain('.dockerenv');
      expect(names).not.toContain('run/.containerenv');
    }
  });

  it('keeps the data of a hard link to an engine-owned file, as Docker\'s export does', async () => {
    const input = await engineExport('podman', async (tree) => {
      await link(path.join(tree, 'etc/hosts'), path.join(tree, 'etc/hosts.orig'));
      await link(path.join(tree, 'etc/hosts'), path.join(tree, 'etc/hosts.saved'));
    });
    // GNU tar stores the first name (sorted) as the file and the others as links to it.
    expect(listing(input).find((l) => l.includes('hosts.orig'))).toMatch(/^h.* link to \.\/etc\/hosts$/);
    const out = await normalise(input);
    expect(member(out, 'etc/hosts.orig')).toMatch(/^-rw-r--r-- 0\/0 +20 /);
    expect(sh('tar', ['-xOf', out, 'etc/hosts.orig'])).toBe('127.0.0.1\tlocalhost\n');
    expect(member(out, 'etc/hosts.saved')).toMatch(/^h.* etc\/hosts.saved link to etc\/hosts.orig$/);
    expect(sh('tar', ['-xOf', out, 'etc/hosts'])).toBe('');
  });

  it('drops what an image has below a path where the engine puts a file', async () => {
    const out = await normalise(await engineExport('docker', async (tree) => {
      await rm(path.join(tree, 'etc/hosts'));
      await mkdir(path.join(tree, 'etc/hosts'));
      await writeFile(path.join(tree, 'etc/hosts/inside'), 'x');
    }));
    expect(sh('tar', ['-tf', out]).split('\n').filter((name) => name.startsWith('etc/hosts'))).toEqual(['etc/hosts']);
  });

});

describe('compareTreeOrder', () => {
  it('puts a directory and its subtree before a sibling that shares its prefix', () => {
    expect(['a-b', 'a/file', 'a', 'B', 'a.c'].sort(compareTreeOrder)).toEqual(['B', 'a', 'a/file', 'a-b', 'a.c']);
  });
});
