import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../../../test/support/tools.ts';
import { UserError } from '../errors.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { FIXTURE_FILES, makeFixtureTree, sh, tarTree } from '../kinds/testing/source-tar.ts';
import {
  addExtraFile,
  parseExtraSpec,
  sortedEntries,
  stripPath,
  type MaterializeOptions,
  type RootfsTree,
} from './rootfs-tree.ts';
import { materializeTar } from './rootfs-tree/read-tar.ts';

const runner = new ExecaCommandRunner();
const { at } = useTempDir('rootfs-tree');
let stagingCount = 0;

/** `stat` of a staging path as the coreutils tool sees it: type, octal mode, uid, gid, links. */
function hostStat(file: string): string {
  return sh('stat', ['-c', '%F %a %u %g %h %t,%T', file]).trim();
}

function options(overrides: Partial<MaterializeOptions> = {}): MaterializeOptions {
  stagingCount += 1;
  return {
    tarPath: at('src.tar'),
    stagingDir: at(`staging-${stagingCount}`),
    runner,
    artifact: 'test(x.img)',
    allowSpecialFiles: true,
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (caught: unknown) => caught);
  expect(error).toBeInstanceOf(UserError);
  return (error as Error).message;
}

beforeAll(async () => {
  await makeFixtureTree(at('tree'));
  tarTree(at('tree'), at('src.tar'));
  await writeFile(at('extra.bin'), 'extra\n');
});

describe('materializeTar', () => {
  let tree: RootfsTree;
  beforeAll(async () => {
    tree = await materializeTar(options());
  });

  it('recreates files with owners, modes and contents', async () => {
    for (const file of FIXTURE_FILES) {
      const staged = path.join(tree.stagingDir, file.path);
      expect(await readFile(staged, 'utf8')).toBe(file.content);
      expect(hostStat(staged)).toMatch(new RegExp(`^regular (empty )?file ${file.mode.toString(8)} ${file.uid} ${file.gid} `));
    }
  });

  it('recreates links, devices and fifos', () => {
    expect(sh('readlink', [path.join(tree.stagingDir, 'bin')]).trim()).toBe('usr/bin');
    expect(hostStat(path.join(tree.stagingDir, 'usr/bin/sudoedit'))).toBe('regular file 4755 0 0 2 0,0');
    expect(hostStat(path.join(tree.stagingDir, 'dev/null'))).toBe('character special file 666 0 0 1 1,3');
    expect(hostStat(path.join(tree.stagingDir, 'dev/initctl'))).toBe('fifo 600 0 0 1 0,0');
    expect(tree.entries.get('/usr/bin/sudoedit')).toMatchObject({ type: 'hardlink', linkTarget: '/usr/bin/sudo' });
    expect(tree.entries.get('/dev/null')).toMatchObject({ type: 'char-device', device: { major: 1, minor: 3 } });
  });

  it('keeps xattrs byte for byte and lists entries in byte order', () => {
    const xattrs = tree.entries.get('/etc/passwd')!.xattrs;
    expect(xattrs.get('user.test')).toEqual(Buffer.from('hello'));
    expect(xattrs.get('user.bin')).toEqual(Buffer.from([0xff, 0x00, 0xfe, 0x80]));
    const paths = sortedEntries(tree).map((e) => e.path);
    expect(paths[0]).toBe('/');
    expect(paths).toEqual([...paths].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
  });

  it('takes only --subdir, re-rooted, with the subdir metadata on the root', async () => {
    const boot = await materializeTar(options({ subdir: '/boot' }));
    expect([...boot.entries.keys()].sort()).toEqual(
      ['/', '/efi', '/efi/EFI', '/efi/EFI/BOOT', '/efi/EFI/BOOT/BOOTX64.EFI', '/efi/EFI/BOOT/grub.cfg', '/efi/Long Name With Spaces.txt', '/grub', '/grub/grub.cfg', '/vmlinuz'],
    );
    expect(await readFile(path.join(boot.stagingDir, 'vmlinuz'), 'utf8')).toBe('kernel image\n');
  });
});

describe('stripPath and addExtraFile', () => {
  it('empties a directory but keeps it, removes a file, and promotes an orphaned hard link', async () => {
    const tree = await materializeTar(options());
    expect(await stripPath(tree, '/run')).toBe(true);
    expect(tree.entries.has('/run')).toBe(true);
    expect([...tree.entries.keys()].filter((p) => p.startsWith('/run/'))).toEqual([]);
    expect(sh('ls', ['-A', path.join(tree.stagingDir, 'run')])).toBe('');
    expect(await stripPath(tree, '/usr/bin/sudo')).toBe(true);
    expect(tree.entries.get('/usr/bin/sudoedit')).toMatchObject({ type: 'file', mode: 0o4755, size: 20 });
    expect(await stripPath(tree, '/no/such')).toBe(false);
  });

  it('adds an extra file 0:0 with its mode and replaces an existing one', async () => {
    const tree = await materializeTar(options());
    await addExtraFile(tree, { source: at('extra.bin'), destination: '/etc/passwd', mode: 0o4711 }, 'test(x.img)');
    const staged = path.join(tree.stagingDir, 'etc/passwd');
    expect(await readFile(staged, 'utf8')).toBe('extra\n');
    expect(hostStat(staged)).toBe('regular file 4711 0 0 1 0,0');
    expect(tree.entries.get('/etc/passwd')!.xattrs.size).toBe(0);
    const message = await failure(addExtraFile(tree, { source: at('extra.bin'), destination: '/nope/x', mode: 0o644 }, 'test(x.img)'));
    expect(message).toBe('test(x.img): --extra "' + at('extra.bin') + ':/nope/x": parent directory "/nope" is not in the tree');
    expect(await failure(addExtraFile(tree, { source: at('extra.bin'), destination: '/etc', mode: 0o644 }, 'test(x.img)'))).toContain('"/etc" is a directory in the tree');
  });
});

describe('materializeTar errors', () => {
  it('refuses compressed tars, special files on FAT, and hard links leaving --subdir', async () => {
    sh('gzip', ['-k', '-f', at('src.tar')]);
    expect(await failure(materializeTar(options({ tarPath: at('src.tar.gz') })))).toBe(
      `test(x.img): --src "${at('src.tar.gz')}": is gzip-compressed: give an uncompressed tar`,
    );
    expect(await failure(materializeTar(options({ allowSpecialFiles: false, subdir: '/dev' })))).toContain(
      'entry "./dev/initctl" is a fifo: this filesystem holds only files and directories',
    );
    await mkdir(at('links/a'), { recursive: true });
    await writeFile(at('links/a/f'), 'f');
    await mkdir(at('links/b'));
    sh('ln', [at('links/a/f'), at('links/b/g')]);
    sh('tar', ['-cf', at('links.tar'), '-C', at('links'), 'a', 'b']);
    expect(await failure(materializeTar(options({ tarPath: at('links.tar'), subdir: '/b' })))).toContain(
      'entry "b/g" is a hard link to "a/f", which is not a file earlier in the archive under --subdir',
    );
  });
});

describe('materializeTar refuses names no image can hold, naming the member', () => {
  /**
   * A tar written by Python's tarfile (GNU format: long names allowed). Names are UTF-8; a lone
   * surrogate \udcNN stands for the raw byte NN (Python's surrogateescape).
   */
  function pythonTar(file: string, members: string): void {
    const script = `import io, sys, tarfile
t = tarfile.open(sys.argv[1], 'w', format=tarfile.GNU_FORMAT, encoding='utf-8', errors='surrogateescape')
for kind, name, target in ${members}:
    info = tarfile.TarInfo(name)
    if kind == 'symlink':
        info.type, info.linkname = tarfile.SYMTYPE, target
        t.addfile(info)
    else:
        info.size = 1
        t.addfile(info, io.BytesIO(b'x'))
t.close()`;
    sh('python3', ['-c', script, file]);
  }

  it('a name that is not UTF-8, shown with its bytes escaped', async () => {
    pythonTar(at('latin1.tar'), `[('file', 'caf\\udce9', None), ('file', 'caf\\udce8', None)]`);
    expect(await failure(materializeTar(options({ tarPath: at('latin1.tar') })))).toBe(
      `test(x.img): --src "${at('latin1.tar')}": member "caf\\xe9": name is not UTF-8`,
    );
  });

  it('a link target that is not UTF-8', async () => {
    pythonTar(at('latin1-link.tar'), `[('symlink', 'link', 'caf\\udce9')]`);
    expect(await failure(materializeTar(options({ tarPath: at('latin1-link.tar') })))).toBe(
      `test(x.img): --src "${at('latin1-link.tar')}": member "link": link target "caf\\xe9" is not UTF-8`,
    );
  });

  it('a path component over 255 bytes, and a symlink target over 4095', async () => {
    pythonTar(at('long.tar'), `[('file', 'etc/' + 'n' * 256 + '/x', None)]`);
    expect(await failure(materializeTar(options({ tarPath: at('long.tar') })))).toContain(
      `entry "etc/${'n'.repeat(60)}...": component "${'n'.repeat(24)}..." is 256 bytes, over the 255 bytes a file name can have`,
    );
    pythonTar(at('long-link.tar'), `[('symlink', 'link', 'x' * 4096)]`);
    expect(await failure(materializeTar(options({ tarPath: at('long-link.tar') })))).toContain(
      'member "link": link target is 4096 bytes, over the 4095 bytes a symbolic link can hold',
    );
  });

  it('UTF-8 names just under the limits are kept', async () => {
    // 127 two-byte letters and one ASCII: 255 bytes. A 4095-byte target fits too.
    const name = `${'é'.repeat(127)}a`;
    pythonTar(at('limits.tar'), `[('file', ${JSON.stringify(name)}, None), ('symlink', 'link', 'y' * 4095)]`);
    const tree = await materializeTar(options({ tarPath: at('limits.tar') }));
    expect(tree.entries.get(`/${name}`)?.type).toBe('file');
    expect(tree.entries.get('/link')?.linkTarget).toHaveLength(4095);
  });

  it('a --subdir that is a file', async () => {
    expect(await failure(materializeTar(options({ subdir: '/etc/passwd' })))).toBe(
      `test(x.img): --src "${at('src.tar')}": --subdir "/etc/passwd": entry "./etc/passwd" is not a directory`,
    );
  });

  it('a 0-byte tar', async () => {
    await writeFile(at('zero.tar'), '');
    expect(await failure(materializeTar(options({ tarPath: at('zero.tar') })))).toBe(
      `test(x.img): --src "${at('zero.tar')}": is empty (0 bytes): not a tar archive`,
    );
  });
});

describe('parseExtraSpec', () => {
  it.each([
    ['a:/x:0644', { source: 'a', destination: '/x', mode: 0o644 }],
    ['C:/dir/a:/opt/ic/bin/replica:755', { source: 'C:/dir/a', destination: '/opt/ic/bin/replica', mode: 0o755 }],
  ])('parses %s', (spec, expected) => {
    expect(parseExtraSpec(spec)).toEqual(expected);
  });
  it.each([
    ['a:/x', '--extra "a:/x": expected SRC:DST:MODE'],
    [':/x:0644', '--extra ":/x:0644": expected SRC:DST:MODE'],
    ['a:x:0644', '--extra "a:x:0644": DST "x" must be an absolute file path'],
    ['a:/x/:0644', '--extra "a:/x/:0644": DST "/x/" must be an absolute file path'],
    ['a:/x:rwx', '--extra "a:/x:rwx": MODE "rwx" is not an octal mode of 1 to 4 digits'],
    ['a:/x:17777', '--extra "a:/x:17777": MODE "17777" is not an octal mode of 1 to 4 digits'],
    ['a:/x/../y:0644', '--extra "a:/x/../y:0644": DST "/x/../y": must not contain ".."'],
    ['a:/caf\uFFFD:0644', 'DST "/caf\uFFFD" holds U+FFFD, the mark of bytes that are not UTF-8: image paths must be UTF-8'],
    [`a:/etc/${'n'.repeat(256)}:0644`, `DST "/etc/${'n'.repeat(59)}...": component "${'n'.repeat(24)}..." is 256 bytes, over the 255 bytes a file name can have`],
  ])('rejects %s', (spec, message) => {
    expect(() => parseExtraSpec(spec)).toThrow(message);
  });
});
