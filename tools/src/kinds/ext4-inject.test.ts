import { execFileSync, spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { icosInProcess, runIcos, sha256sum, useTempDir } from '../../../test/support/tools.ts';
import { FILE_CONTEXTS, makeFixtureTree, sh, tarTree } from './testing/source-tar.ts';

// Expectations come from e2fsprogs (e2fsck, debugfs, dumpe2fs) reading the injected image.
const REPO = path.resolve(import.meta.dirname, '../../..');
const { dir: work, at } = useTempDir('ext4-inject');

function debugfs(image: string, command: string): string {
  return sh('debugfs', ['-R', command, image]);
}

function statOf(image: string, imagePath: string) {
  const out = debugfs(image, `stat "${imagePath}"`);
  return {
    out,
    type: /Type: (\S+)/.exec(out)?.[1],
    mode: parseInt(/Mode:\s+(\d+)/.exec(out)?.[1] ?? 'NaN', 8),
    uid: Number(/User:\s+(\d+)/.exec(out)?.[1]),
    gid: Number(/Group:\s+(\d+)/.exec(out)?.[1]),
  };
}

const INJECT_ARGS = () => [
  '--base', at('base.img'),
  '--extra', `${at('late.bin')}:/usr/bin/late:0750`,
  '--extra', `${at('version.txt')}:/opt/ic/share/version.txt:0644`,
  '--extra', `${at('shadow.new')}:/etc/shadow:0600`,
  '--extra', `${at('late.bin')}:/etc/passwd.link:4755`,
  '--file-contexts', at('file_contexts'),
];

beforeAll(async () => {
  await makeFixtureTree(at('tree'));
  tarTree(at('tree'), at('src.tar'));
  await writeFile(at('file_contexts'), FILE_CONTEXTS);
  await writeFile(at('late.bin'), Buffer.concat([Buffer.from('late binary\n'), Buffer.alloc(100_000, 7)]));
  await writeFile(at('version.txt'), '1.2.3\n');
  await writeFile(at('shadow.new'), 'root:!:1:0:99999:7:::\n');
  const base = ['ext4', '--out', at('base.img'), '--size', '64M', '--src', at('src.tar'), '--strip', '/run', '--file-contexts', at('file_contexts')];
  expect((await icosInProcess(base)).code).toBe(0);
});

describe('icos ext4-inject', () => {
  let image: string;
  let baseHash: string;
  beforeAll(async () => {
    baseHash = sha256sum(at('base.img'));
    image = at('root.img');
    const { code, stderr } = await icosInProcess(['ext4-inject', '--out', image, ...INJECT_ARGS()]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('passes e2fsck, keeps the size and leaves the base untouched', () => {
    const fsck = spawnSync('e2fsck', ['-fn', image], { encoding: 'utf8' });
    expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
    expect(sh('stat', ['-c', '%s', image]).trim()).toBe(String(64 * 1024 * 1024));
    expect(sha256sum(at('base.img'))).toBe(baseHash);
  });

  it('writes new files, replaces files and symlinks, with mode and owner 0:0', () => {
    expect(debugfs(image, 'cat /usr/bin/late').startsWith('late binary\n')).toBe(true);
    expect(debugfs(image, 'cat /opt/ic/share/version.txt')).toBe('1.2.3\n');
    expect(debugfs(image, 'cat /etc/shadow')).toBe('root:!:1:0:99999:7:::\n');
    const late = statOf(image, '/usr/bin/late');
    expect([late.type, late.mode, late.uid, late.gid]).toEqual(['regular', 0o750, 0, 0]);
    const shadow = statOf(image, '/etc/shadow');
    expect([shadow.type, shadow.mode, shadow.gid]).toEqual(['regular', 0o600, 0]);
    const link = statOf(image, '/etc/passwd.link');
    expect([link.type, link.mode]).toEqual(['regular', 0o4755]);
    // What was there before is untouched.
    expect(debugfs(image, 'cat /etc/passwd')).toBe('root:x:0:0:root:/root:/bin/sh\n');
  });

  it('creates missing parent directories 0755 0:0', () => {
    for (const dir of ['/opt/ic', '/opt/ic/share']) {
      const st = statOf(image, dir);
      expect([dir, st.type, st.mode, st.uid, st.gid]).toEqual([dir, 'directory', 0o755, 0, 0]);
    }
  });

  it('labels injected inodes from file_contexts', () => {
    expect(debugfs(image, 'ea_get /usr/bin/late security.selinux')).toContain('system_u:object_r:bin_t:s0\\000');
    expect(debugfs(image, 'ea_get /etc/shadow security.selinux')).toContain('shadow_t');
    expect(debugfs(image, 'ea_get /opt/ic/share security.selinux')).toContain('default_t');
  });

  it('stamps injected inodes, their directories and the superblock with SOURCE_DATE_EPOCH (0)', () => {
    for (const spec of ['/usr/bin/late', '/opt/ic', '/opt/ic/share/version.txt', '/usr/bin', '/opt', '/']) {
      const times = debugfs(image, `stat ${spec}`).match(/^\s*(?:c|a|m|cr)time: 0x[0-9a-f]+(?::[0-9a-f]+)?/gm);
      expect(times?.length, spec).toBe(4);
      for (const time of times!) expect(time, spec).toMatch(/0x00000000(:00000000)?$/);
    }
    const header = sh('dumpe2fs', ['-h', image]);
    expect(header).toMatch(/Last write time:\s+Thu Jan\s+1 00:00:00 1970/);
    expect(header).not.toMatch(/Lifetime writes/);
  });

  it('gives identical bytes across umask, TMPDIR and clock', async () => {
    const again = (out: string, umask: string, tmp: string) => {
      sh('mkdir', ['-p', tmp]);
      const result = runIcos(['ext4-inject', '--out', out, ...INJECT_ARGS()], { umask, cwd: REPO, env: { TMPDIR: tmp, SOURCE_DATE_EPOCH: '0' } });
      expect(result.status, result.stderr).toBe(0);
    };
    again(at('det-a.img'), '022', at('tmp-a'));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    again(at('det-b.img'), '077', at('tmp-b/deeper'));
    expect(sha256sum(at('det-a.img'))).toBe(sha256sum(image));
    expect(sha256sum(at('det-b.img'))).toBe(sha256sum(image));
  });
});

describe('ext4-inject errors', () => {
  beforeAll(async () => {
    await writeFile(at('not-ext4.img'), Buffer.alloc(8 * 1024 * 1024));
    execFileSync('mkfifo', [at('fifo')]);
  });

  const cases: Array<[string, () => string[], string]> = [
    ['a directory destination', () => ['--base', at('base.img'), '--extra', `${at('late.bin')}:/etc:0755`], '"/etc" is a directory in the base image'],
    ['a file on the way', () => ['--base', at('base.img'), '--extra', `${at('late.bin')}:/etc/passwd/x:0755`], '"/etc/passwd" is not a directory in the base image'],
    ['a repeated destination', () => ['--base', at('base.img'), '--extra', `${at('late.bin')}:/x:0755`, '--extra', `${at('version.txt')}:/x:0644`], 'destination "/x" is given more than once'],
    ['a missing base', () => ['--base', at('nope.img')], `--base "${at('nope.img')}": cannot be read: no such file or directory`],
    ['a FIFO base (never opened)', () => ['--base', at('fifo')], `--base "${at('fifo')}": is a FIFO, expected a regular file`],
    ['a FIFO as file contexts (never opened)', () => ['--base', at('base.img'), '--extra', `${at('late.bin')}:/x:0755`, '--file-contexts', at('fifo')],
      `--file-contexts "${at('fifo')}": is a FIFO, expected a regular file`],
    ['a base that is not ext4', () => ['--base', at('not-ext4.img'), '--extra', `${at('late.bin')}:/x:0755`], 'not an ext4 image'],
  ];

  it.each(cases)('rejects %s with a located message and leaves no output', async (_name, args, expected) => {
    const { code, stderr } = await icosInProcess(['ext4-inject', '--out', at('out.img'), ...args()]);
    expect(code).toBe(1);
    expect(stderr).toContain(`ext4-inject(out.img): `);
    expect(stderr).toContain(expected);
    expect((await readdir(work)).filter((name) => name.includes('out.img'))).toEqual([]);
  });
});
