import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { icosInProcess, toolStatus, useTempDir } from '../../../test/support/tools.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { parsePrivateKey, publicKeyFile } from '../signing/minisign.ts';
import { noisyBytes, sparseFile, tarOfZstd, tool } from './sparse-tar/testing.ts';

const MiB = 1024 * 1024;
const COMMIT = '2b6a5e1f0c3d4e5f60718293a4b5c6d7e8f90a1b';
const TEST_KEYS = path.join(REPO_ROOT, 'keys/test-keys');
const RELEASE_KEY = path.join(TEST_KEYS, 'release.key');

const { dir } = useTempDir('upgrade-image');
let boot: string;
let root: string;

beforeAll(async () => {
  boot = path.join(dir, 'boot-partition.img');
  root = path.join(dir, 'root-partition.img');
  await sparseFile(boot, 64 * MiB, [[0, noisyBytes(64 * 1024)], [40 * MiB, noisyBytes(8192)]]);
  tool('mkfifo', [path.join(dir, 'fifo')]);
  await writeFile(path.join(dir, 'odd.img'), Buffer.alloc(5000));
  await sparseFile(root, 3 * 1024 * MiB, [[MiB, noisyBytes(MiB)], [3 * 1024 * MiB - 4096, noisyBytes(4096)]]);
});

describe('icos upgrade-image', () => {
  it('packs MANIFEST.TXT, its signature, boot.img, root.img and VERSION.TXT, in that order, that extract to the inputs', async () => {
    const version = path.join(dir, 'version.txt');
    await writeFile(version, `${COMMIT}-test\n`);
    const out = path.join(dir, 'update-img.tar.zst');
    const { code, stderr } = await icosInProcess(['upgrade-image', '--os', 'guestos', '--boot', boot, '--root', root, '--version', version, '--key', RELEASE_KEY, '--out', out]);
    expect(stderr).toBe(`wrote ${out} (version ${COMMIT}-test)\n`);
    expect(code).toBe(0);
    tool('zstd', ['-q', '-t', out]);
    expect(tarOfZstd(out, ['-t'])).toBe('MANIFEST.TXT\nMANIFEST.TXT.minisig\nboot.img\nroot.img\nVERSION.TXT\n');
    const extracted = path.join(dir, 'extracted');
    await mkdir(extracted);
    tool('tar', ['-xS', '-C', extracted, '-f', '-'], tool('zstd', ['-q', '-dc', out]));
    tool('cmp', [boot, path.join(extracted, 'boot.img')]);
    tool('cmp', [version, path.join(extracted, 'VERSION.TXT')]);
    const rootListing = tarOfZstd(out, ['-tv']).split('\n')[3]!.split(/\s+/);
    expect(rootListing.slice(0, 3)).toEqual(['-rw-r--r--', '0/0', String(3 * 1024 * MiB)]);
    // The manifest names the OS and version, and boot.img's size and sha256 as coreutils computes them.
    const bootSha256 = tool('sha256sum', [path.join(extracted, 'boot.img')]).toString().split(' ')[0];
    expect(await readFile(path.join(extracted, 'MANIFEST.TXT'), 'utf8')).toBe([
      '# icos upgrade image: what manageboot.sh checks before and after it writes a slot',
      'os=guestos',
      `version=${COMMIT}-test`,
      `boot.img.bytes=${64 * MiB}`,
      `boot.img.sha256=${bootSha256}`,
      `root.img.bytes=${3 * 1024 * MiB}`,
      '',
    ].join('\n'));
    // Debian's minisign checks the signature with the release key's public half (as
    // minisign-public-key.test.ts makes it and checks it against OpenSSL).
    const publicKey = path.join(dir, 'release.pub');
    await writeFile(publicKey, publicKeyFile(parsePrivateKey(await readFile(RELEASE_KEY), RELEASE_KEY)));
    const manifest = path.join(extracted, 'MANIFEST.TXT');
    const check = () => toolStatus('minisign', ['-Vm', manifest, '-x', `${manifest}.minisig`, '-p', publicKey]);
    expect(check()).toMatchObject({ status: 0, stdout: expect.stringContaining(`Trusted comment: icos upgrade image guestos ${COMMIT}-test file:MANIFEST.TXT`) });
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace('os=guestos', 'os=hostos'));
    expect(check().status).toBe(1);
  });

  it.each([
    ['the test keys', { dir: TEST_KEYS, external: false }, 0, ''],
    ['a prod build without its key directory', { dir: '', external: true }, 1,
      'icos: upgrade-image(dev:update-img.tar.zst): prod signing needs its keys: build with --define=ICOS_SIGNING_KEYS=/absolute/dir (the files of keys/README.md)\n'],
    ['a key directory without release.key', { dir: dir, external: true }, 1,
      `icos: upgrade-image(dev:update-img.tar.zst): ${dir}/release.key: missing or unreadable: the key directory of --define=ICOS_SIGNING_KEYS must hold release.key (keys/README.md)\n`],
  ])('takes its key from a key source as Bazel passes it: %s', async (_, keys, status, message) => {
    const version = path.join(dir, 'version-keys.txt');
    await writeFile(version, `${COMMIT}\n`);
    const out = await mkdtemp(path.join(dir, 'keys-'));
    const manifest = path.join(dir, `${path.basename(out)}.json`);
    const options = { artifact: '//envs/x/dev:update-img.tar.zst', os: 'guestos', boot, root: boot, version, keys };
    await writeFile(manifest, JSON.stringify({ kind: 'upgrade-image', out: path.join(out, 'update-img.tar.zst'), options }));
    const run = await icosInProcess(['build', '--manifest', manifest]);
    expect(run.stderr).toBe(message);
    expect(run.code).toBe(status);
    expect(await readdir(out)).toEqual(status === 0 ? ['update-img.tar.zst'] : []);
  });

  it('signs the same manifest with the same key to the same bytes (Ed25519 is deterministic)', async () => {
    const version = path.join(dir, 'version-again.txt');
    await writeFile(version, `${COMMIT}\n`);
    const signatures = [];
    for (const name of ['a', 'b']) {
      const out = path.join(dir, `again-${name}.tar.zst`);
      expect((await icosInProcess(['upgrade-image', '--os', 'guestos', '--boot', boot, '--root', boot, '--version', version, '--key', RELEASE_KEY, '--out', out])).code).toBe(0);
      signatures.push(tarOfZstd(out, ['-xO', 'MANIFEST.TXT.minisig']));
    }
    expect(signatures[0]).toMatch(/^untrusted comment: signature from icos, key [0-9A-F]{16}\n/);
    expect(signatures[1]).toBe(signatures[0]);
  });

  const cases: Array<[string, string | undefined, string[], string]> = [
    ['an empty version file', '', [], 'upgrade-image: version file "{version}": is empty'],
    ['a version file of two lines', `${COMMIT}\nsecond\n`, [],
      'upgrade-image: version file "{version}" line 2: "second": expected a single line'],
    ['a version with a space', 'release 1\n', [],
      'upgrade-image: version file "{version}" line 1: "release 1": expected a git commit, "<commit>-test" or up to ' +
        '128 letters, digits, ".", "_", "+" and "-" (no whitespace)'],
    ['a version file of control bytes', '\x1b[2J\x00\x01\n', [],
      'upgrade-image: version file "{version}" line 1: "\\x1b[2J\\x00\\x01": expected a git commit, "<commit>-test" or up to ' +
        '128 letters, digits, ".", "_", "+" and "-" (no whitespace)'],
    ['a version with CRLF', `${COMMIT}\r\n`, [],
      `upgrade-image: version file "{version}" line 1: "${COMMIT}\\x0d": expected a git commit, "<commit>-test" or up to ` +
        '128 letters, digits, ".", "_", "+" and "-" (no whitespace)'],
    ['a boot image of part of a sector', COMMIT, ['--boot', '{dir}/odd.img'],
      'upgrade-image: --boot "{dir}/odd.img": is 5000 bytes, not a whole number of 512-byte sectors (a partition image)'],
    ['a FIFO as output (named as one, not by its extension)', COMMIT, ['--out', '{dir}/fifo'],
      'output "{dir}/fifo": is a FIFO: only a regular file (or nothing) is replaced by an output'],
    ['a missing version file', undefined, [], 'upgrade-image: version file "{version}": cannot be read: no such file or directory'],
    ['/dev/zero as version file', undefined, ['--version', '/dev/zero'],
      'upgrade-image: version file "/dev/zero": is a character device, expected a regular file'],
    ['a FIFO as version file (never opened)', undefined, ['--version', '{dir}/fifo'],
      'upgrade-image: version file "{dir}/fifo": is a FIFO, expected a regular file'],
    ['a directory as version file', undefined, ['--version', '{dir}'],
      'upgrade-image: version file "{dir}": is a directory, expected a regular file'],
    ['a version file over 4096 bytes', 'a'.repeat(4097), [],
      'upgrade-image: version file "{version}": is 4097 bytes, more than the 4096 bytes allowed'],
    ['a missing root image', COMMIT, ['--root', '{dir}/missing.img'],
      'sparse-tar: member "root.img": file "{dir}/missing.img": cannot be read: no such file or directory'],
    ['an OS name with upper case and a space', COMMIT, ['--os', 'Guest OS'],
      'upgrade-image: option "os": an OS name: lower-case letters, digits and "-"'],
    ['a missing signing key', COMMIT, ['--key', '{dir}/missing.key'],
      'upgrade-image: --key "{dir}/missing.key": cannot be read: no such file or directory'],
    ['a signing key that is not Ed25519', COMMIT, ['--key', `${TEST_KEYS}/db.key`],
      `upgrade-image: --key "${TEST_KEYS}/db.key": is a rsa key, expected Ed25519 (keys/README.md)`],
    ['an unknown output extension', COMMIT, ['--out', '{out}/update-img.zst'],
      'sparse-tar: output "{out}/update-img.zst": unknown extension: expected a name ending in .tar.zst, .tzst or .tar'],
  ];

  it.each(cases)('rejects %s with a located message and leaves no output', async (_, text, overrides, message) => {
    const out = await mkdtemp(path.join(dir, 'errors-'));
    const version = path.join(dir, `${path.basename(out)}-version.txt`);
    if (text !== undefined) await writeFile(version, text);
    const fill = (value: string): string =>
      value.replaceAll('{out}', out).replaceAll('{dir}', dir).replaceAll('{version}', version);
    const options = new Map([
      ['--os', 'guestos'],
      ['--boot', boot],
      ['--root', root],
      ['--version', version],
      ['--key', RELEASE_KEY],
      ['--out', path.join(out, 'update-img.tar.zst')],
    ]);
    for (let i = 0; i < overrides.length; i += 2) options.set(overrides[i]!, fill(overrides[i + 1]!));
    const { code, stderr } = await icosInProcess(['upgrade-image', ...[...options].flat()]);
    expect(stderr).toBe(`icos: ${fill(message)}\n`);
    expect(code).toBe(1);
    expect(await readdir(out)).toEqual([]);
    if (text !== undefined) expect(await readFile(version, 'utf8')).toBe(text);
  });
});
