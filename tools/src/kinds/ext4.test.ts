import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { icosInProcess, runIcos, sha256sum, useTempDir } from '../../../test/support/tools.ts';
import { FILE_CONTEXTS, FIXTURE_DIRS, FIXTURE_FILES, makeFixtureTree, sh, tarTree } from './testing/source-tar.ts';

// Expectations come from e2fsprogs' own readers (e2fsck, debugfs, dumpe2fs) and the fixture spec.
const REPO = path.resolve(import.meta.dirname, '../../..');
const { dir: work, at } = useTempDir('ext4');

/** `debugfs -R command image` stdout. */
function debugfs(image: string, command: string): string {
  return sh('debugfs', ['-R', command, image]);
}

function statOf(image: string, imagePath: string) {
  const out = debugfs(image, `stat "${imagePath.replaceAll('"', '""')}"`);
  const match = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(out);
  return {
    out,
    uid: Number(match?.[1]),
    gid: Number(match?.[2]),
    mode: parseInt(/Mode:\s+(\d+)/.exec(out)?.[1] ?? 'NaN', 8),
    type: /Type: (\S+)/.exec(out)?.[1],
    links: Number(/Links: (\d+)/.exec(out)?.[1]),
    inode: Number(/Inode: (\d+)/.exec(out)?.[1]),
  };
}

function label(image: string, imagePath: string): string {
  return debugfs(image, `ea_get "${imagePath}" security.selinux`).trim();
}

beforeAll(async () => {
  await makeFixtureTree(at('tree'));
  tarTree(at('tree'), at('src.tar'));
  await writeFile(at('file_contexts'), FILE_CONTEXTS);
  await writeFile(at('late.bin'), 'late binary\n');
});

const ROOT_ARGS = () => [
  '--size', '64M',
  '--src', at('src.tar'),
  '--strip', '/run',
  '--strip', '/tmp/junk.txt',
  '--extra', `${at('late.bin')}:/usr/bin/late:0750`,
  '--file-contexts', at('file_contexts'),
  '--label', 'ROOT',
];

describe('icos ext4 from a rootfs tar', () => {
  let image: string;
  beforeAll(async () => {
    image = at('root.img');
    const { code, stderr } = await icosInProcess(['ext4', '--out', image, ...ROOT_ARGS()]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('passes e2fsck and has the requested label and size', async () => {
    const fsck = spawnSync('e2fsck', ['-fn', image], { encoding: 'utf8' });
    expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
    expect(sh('dumpe2fs', ['-h', image])).toMatch(/Filesystem volume name:\s+ROOT/);
    expect((await readFile(image)).length).toBe(64 * 1024 * 1024);
  });

  it('keeps owners, modes and contents of every fixture file', () => {
    for (const file of FIXTURE_FILES.filter((f) => !f.path.startsWith('/run/') && f.path !== '/tmp/junk.txt')) {
      const st = statOf(image, file.path);
      expect({ path: file.path, uid: st.uid, gid: st.gid, mode: st.mode }).toEqual({
        path: file.path,
        uid: file.uid,
        gid: file.gid,
        mode: file.mode,
      });
      expect(debugfs(image, `cat "${file.path.replaceAll('"', '""')}"`)).toBe(file.content);
    }
    for (const dir of FIXTURE_DIRS) {
      const st = statOf(image, dir.path);
      expect([dir.path, st.type, st.uid, st.gid, st.mode]).toEqual([dir.path, 'directory', dir.uid, dir.gid, dir.mode]);
    }
  });

  it('keeps symlinks, hard links, devices and fifos', () => {
    expect(debugfs(image, 'stat /bin')).toContain('Fast link dest: "usr/bin"');
    expect(debugfs(image, 'stat /etc/passwd.link')).toContain('Fast link dest: "/etc/passwd"');
    const sudo = statOf(image, '/usr/bin/sudo');
    const sudoedit = statOf(image, '/usr/bin/sudoedit');
    expect(sudoedit.inode).toBe(sudo.inode);
    expect(sudo.links).toBe(2);
    const devNull = statOf(image, '/dev/null');
    expect([devNull.type, devNull.mode]).toEqual(['character', 0o666]);
    expect(devNull.out).toContain('Device major/minor number: 01:03');
    const fifo = statOf(image, '/dev/initctl');
    expect([fifo.type, fifo.mode]).toEqual(['FIFO', 0o600]);
  });

  it('keeps xattrs from the tar byte for byte', () => {
    expect(debugfs(image, 'ea_get /etc/passwd user.test').trim()).toBe('user.test (5) = "hello"');
    expect(debugfs(image, 'ea_get -x /etc/passwd user.bin')).toContain('ff 00 fe 80');
  });

  it('strips directory contents (keeping the directory) and single files', () => {
    expect(statOf(image, '/run').type).toBe('directory');
    expect(debugfs(image, 'ls /run')).not.toContain('lock');
    expect(spawnSync('debugfs', ['-R', 'stat /tmp/junk.txt', image], { encoding: 'utf8' }).stderr).toContain('not found');
  });

  it('adds extra files with their mode and owner 0:0', () => {
    const late = statOf(image, '/usr/bin/late');
    expect([late.type, late.mode, late.uid, late.gid]).toEqual(['regular', 0o750, 0, 0]);
    expect(debugfs(image, 'cat /usr/bin/late')).toBe('late binary\n');
  });

  it('labels inodes from file_contexts (last match, exact paths first, <<none>>)', () => {
    expect(label(image, '/')).toBe('security.selinux (28) = "system_u:object_r:root_t:s0\\000"');
    expect(label(image, '/etc/passwd')).toContain('system_u:object_r:etc_t:s0');
    expect(label(image, '/etc/shadow')).toContain('system_u:object_r:shadow_t:s0');
    expect(label(image, '/etc/file with spaces.txt')).toContain('etc_t');
    expect(label(image, '/usr/bin/late')).toContain('bin_t');
    expect(label(image, '/dev/null')).toContain('null_device_t');
    expect(label(image, '/dev/initctl')).toContain('default_t');
    expect(label(image, '/lost+found')).toContain('default_t');
    expect(debugfs(image, 'ea_list /tmp/.')).toContain('default_t');
  });

  it('stamps every inode and the superblock with SOURCE_DATE_EPOCH (0)', () => {
    for (const spec of ['/', '/etc/passwd', '/lost+found', '<7>', '<8>']) {
      const times = debugfs(image, `stat ${spec}`).match(/^\s*(?:c|a|m|cr)time: 0x[0-9a-f]+(?::[0-9a-f]+)?/gm);
      expect(times?.length, spec).toBe(4);
      for (const time of times!) expect(time, spec).toMatch(/0x00000000(:00000000)?$/);
    }
    const header = sh('dumpe2fs', ['-h', image]);
    expect(header).toMatch(/Last write time:\s+Thu Jan\s+1 00:00:00 1970/);
    expect(header).not.toMatch(/Lifetime writes/);
  });
});

describe('icos ext4 variants', () => {
  it('--subdir /boot puts the boot tree at the root, with projected labels', async () => {
    const image = at('boot.img');
    const { code, stderr } = await icosInProcess(['ext4', '--out', image, '--size', '8M', '--src', at('src.tar'), '--subdir', '/boot', '--file-contexts', at('file_contexts')]);
    expect([code, stderr]).toEqual([0, '']);
    expect(spawnSync('e2fsck', ['-fn', image]).status).toBe(0);
    expect(debugfs(image, 'cat /vmlinuz')).toBe('kernel image\n');
    expect(debugfs(image, 'cat /grub/grub.cfg')).toBe('set timeout=0\n');
    expect(debugfs(image, 'ls /')).not.toContain('etc');
    expect(label(image, '/')).toContain('boot_t');
    expect(label(image, '/vmlinuz')).toContain('boot_t');
    expect(label(image, '/grub/grub.cfg')).toContain('grub_t');
  });

  it('without --src makes an empty filesystem owned by root', async () => {
    const image = at('config.img');
    expect((await icosInProcess(['ext4', '--out', image, '--size', '16M', '--label', 'CONFIG'])).code).toBe(0);
    expect(spawnSync('e2fsck', ['-fn', image]).status).toBe(0);
    const root = statOf(image, '/');
    expect([root.mode, root.uid, root.gid]).toEqual([0o755, 0, 0]);
    expect(debugfs(image, 'ls /').trim().split(/\s+/).filter((n) => !/^\(?\d+\)?$/.test(n))).toEqual(['.', '..', 'lost+found']);
  });
});

describe('ext4 names', () => {
  it('keeps UTF-8 names byte for byte: NFC and NFD spellings of one word stay two files', async () => {
    const nfc = 'caf\u00e9';
    const nfd = 'cafe\u0301';
    await mkdir(at('unicode'), { recursive: true });
    await writeFile(path.join(at('unicode'), nfc), 'composed\n');
    await writeFile(path.join(at('unicode'), nfd), 'decomposed\n');
    sh('tar', ['-cf', at('unicode.tar'), '-C', at('unicode'), '.']);
    const image = at('unicode.img');
    expect((await icosInProcess(['ext4', '--out', image, '--size', '8M', '--src', at('unicode.tar')])).code).toBe(0);
    // debugfs -p lists `/inode/mode/uid/gid/name/size/`: names as the directory holds their bytes.
    const names = debugfs(image, 'ls -p /').split('\n').map((line) => line.split('/')[5]).filter((name) => name?.startsWith('caf'));
    expect(names.map((name) => Buffer.from(name!).toString('hex')).sort()).toEqual(
      [Buffer.from(nfc).toString('hex'), Buffer.from(nfd).toString('hex')].sort(),
    );
    expect(debugfs(image, `cat ${nfd}`)).toBe('decomposed\n');
  });
});

describe('ext4 determinism', () => {
  /** Runs the CLI in a child with its own umask, TMPDIR and SOURCE_DATE_EPOCH. */
  async function build(out: string, umask: string, tmp: string, epoch: string): Promise<void> {
    await mkdir(tmp, { recursive: true });
    const result = runIcos(['ext4', '--out', out, ...ROOT_ARGS()], { umask, cwd: REPO, env: { TMPDIR: tmp, SOURCE_DATE_EPOCH: epoch } });
    expect(result.status, result.stderr).toBe(0);
  }

  it('gives identical bytes across umask, TMPDIR, clock and re-created source files', async () => {
    await build(at('det-a.img'), '022', at('tmp-a'), '0');
    await build(at('det-epoch-a.img'), '022', at('tmp-a'), '1700000000');
    // New host ctimes/mtimes on every source file, a re-made tar, and a later second.
    sh('find', [at('tree'), '-exec', 'touch', '-h', '{}', '+']);
    tarTree(at('tree'), at('src.tar'));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await build(at('det-b.img'), '077', at('tmp-b/deeper'), '0');
    await build(at('det-epoch-b.img'), '077', at('tmp-b/deeper'), '1700000000');
    expect(sha256sum(at('det-b.img'))).toBe(sha256sum(at('det-a.img')));
    expect(sha256sum(at('det-epoch-b.img'))).toBe(sha256sum(at('det-epoch-a.img')));
    expect(debugfs(at('det-epoch-a.img'), 'stat /etc/passwd')).toMatch(/crtime: 0x6553f100:00000000/);
  });

  it('does not depend on the order of the tar members (staging creation and readdir order)', async () => {
    const members = sh('find', ['.'], { cwd: at('tree') }).trim().split('\n').filter((m) => m !== '.');
    await writeFile(at('reversed.list'), `${members.sort().reverse().join('\n')}\n`);
    sh('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--no-recursion', '-cf', at('reversed.tar'), '-C', at('tree'), '-T', at('reversed.list')]);
    expect(sh('tar', ['-tf', at('reversed.tar')]).split('\n')[0]).toBe(members[0]);
    const args = (src: string, out: string) => ['ext4', '--out', out, ...ROOT_ARGS().map((a) => (a === at('src.tar') ? src : a))];
    // On tmpfs readdir returns the newest entry first, so staging order shows through unless
    // mke2fs sorts (it does: scandir + alphasort, under our C.UTF-8 locale).
    const savedTmp = process.env.TMPDIR;
    const shm = existsSync('/dev/shm') ? await mkdtemp('/dev/shm/icos-order-') : undefined;
    if (shm !== undefined) process.env.TMPDIR = shm;
    try {
      expect((await icosInProcess(args(at('src.tar'), at('order-a.img')))).code).toBe(0);
      expect((await icosInProcess(args(at('reversed.tar'), at('order-b.img')))).code).toBe(0);
    } finally {
      if (shm !== undefined) await rm(shm, { recursive: true, force: true });
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
    }
    expect(sha256sum(at('order-b.img'))).toBe(sha256sum(at('order-a.img')));
  });
});

describe('ext4 errors', () => {
  beforeAll(async () => {
    await writeFile(at('garbage.tar'), Buffer.alloc(4096, 0x5a));
    await writeFile(at('big-file'), '');
    await truncate(at('big-file'), 6 * 1024 * 1024);
    await mkdir(at('big'), { recursive: true });
    await writeFile(at('big/almost'), Buffer.alloc(4 * 1024 * 1024 - 200 * 1024, 1));
    sh('tar', ['-cf', at('big.tar'), '-C', work, 'big-file']);
    sh('tar', ['-cf', at('almost.tar'), '-C', at('big'), 'almost']);
    await writeFile(at('bad_contexts'), '/etc(/.*)? system_u:object_r:etc_t:s0\n/x -q ctx\n/y[ ctx\n');
    await writeFile(at('zero.tar'), '');
    // Two names that are not UTF-8 and that lossy decoding would both turn into "caf\ufffd".
    await mkdir(at('latin1'), { recursive: true });
    for (const last of [0xe9, 0xe8]) await writeFile(Buffer.concat([Buffer.from(`${at('latin1')}/caf`), Buffer.from([last])]), 'x');
    sh('tar', ['-cf', at('latin1.tar'), '-C', at('latin1'), '.']);
    // A host file system holds no name over 255 bytes: GNU tar renames a short one on the way in.
    sh('tar', ['-cf', at('long.tar'), '-C', work, '--transform', `s|^late.bin$|${'n'.repeat(300)}|`, 'late.bin']);
  });

  const cases: Array<[string, () => string[], string]> = [
    ['a missing tar', () => ['--src', at('missing.tar')], `ext4(out.img): --src "${'MISSING'}": cannot be read: no such file or directory`],
    ['a corrupt tar', () => ['--src', at('garbage.tar')], 'not a readable tar archive: Invalid tar header'],
    ['a relative DST', () => ['--extra', `${at('late.bin')}:usr/bin/late:0755`], 'DST "usr/bin/late" must be an absolute file path'],
    ['a non-octal MODE', () => ['--extra', `${at('late.bin')}:/usr/bin/late:0758`], 'MODE "0758" is not an octal mode of 1 to 4 digits'],
    ['a missing SRC', () => ['--extra', `${at('nope.bin')}:/late:0755`], `SRC "${'NOPE'}": cannot be read: no such file or directory`],
    ['a missing DST parent', () => ['--src', at('src.tar'), '--extra', `${at('late.bin')}:/usr/lib/late:0755`], 'parent directory "/usr/lib" is not in the tree'],
    ['content larger than --size', () => ['--src', at('big.tar'), '--size', '4M'], 'ext4(out.img): content needs at least 6295552 bytes (6 MiB) but --size is 4194304 bytes (4 MiB)'],
    ['content that fits only without metadata', () => ['--src', at('almost.tar'), '--size', '4M'], 'does not fit in --size 4194304 bytes (4 MiB) once ext4 metadata is added'],
    ['an absent --subdir', () => ['--src', at('src.tar'), '--subdir', '/nope'], '--subdir "/nope" is not in the archive'],
    ['a bad file_contexts', () => ['--file-contexts', at('bad_contexts')], 'bad_contexts:2: file type "-q"'],
    ['a size that is not 4 KiB-aligned', () => ['--size', '5001K'], '--size 5121024 bytes (4.88 MiB): must be a multiple of 4 KiB'],
    ['a 0-byte tar', () => ['--src', at('zero.tar')], `ext4(out.img): --src "${at('zero.tar')}": is empty (0 bytes): not a tar archive`],
    ['names that are not UTF-8', () => ['--src', at('latin1.tar')], `ext4(out.img): --src "${at('latin1.tar')}": member "./caf\\xe`],
    ['a tar name over 255 bytes', () => ['--src', at('long.tar')], `": component "nnnnnnnnnnnnnnnnnnnnnnnn..." is 300 bytes, over the 255 bytes a file name can have`],
    ['a DST name over 255 bytes', () => ['--extra', `${at('late.bin')}:/${'d'.repeat(256)}:0644`], 'DST "/ddd'],
    ['the same DST twice', () => ['--extra', `${at('late.bin')}:/late:0755`, '--extra', `${at('late.bin')}:/./late:0644`], `ext4(out.img): destination "/late" is given more than once: --extra "${at('late.bin')}:/late" (number 1) and --extra "${at('late.bin')}:/late" (number 2)`],
  ];

  it.each(cases)('rejects %s with a located message and leaves no output', async (_name, args, expected) => {
    const out = at('out.img');
    const allArgs = args();
    const { code, stderr } = await icosInProcess(['ext4', '--out', out, ...(allArgs.includes('--size') ? [] : ['--size', '8M']), ...allArgs]);
    expect(code).toBe(1);
    expect(stderr).toContain(expected.replace('MISSING', at('missing.tar')).replace('NOPE', at('nope.bin')));
    expect(stderr).not.toMatch(/\n\s+at /);
    expect((await readdir(work)).filter((name) => name.includes('out.img'))).toEqual([]);
  });

  it('names the rule of each refusal above', async () => {
    const run = (args: string[]) => icosInProcess(['ext4', '--out', at('out.img'), '--size', '8M', ...args]);
    expect((await run(['--src', at('latin1.tar')])).stderr).toMatch(/member "\.\/caf\\xe[89]": name is not UTF-8\n/);
    expect((await run(['--extra', `${at('late.bin')}:/${'d'.repeat(256)}:0644`])).stderr).toContain(
      `: component "${'d'.repeat(24)}..." is 256 bytes, over the 255 bytes a file name can have`,
    );
  });

  it('reports every bad file_contexts line', async () => {
    const { stderr } = await icosInProcess(['ext4', '--out', at('out.img'), '--size', '8M', '--file-contexts', at('bad_contexts')]);
    expect(stderr).toContain('2 problems found');
    expect(stderr).toContain('bad_contexts:3: regex "/y[": not a valid regular expression');
  });
});
