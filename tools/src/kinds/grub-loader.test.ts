import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256sum, useTempDir } from '../../../test/support/tools.ts';
import { UserError } from '../errors.ts';
import { ConsoleLogger } from '../infra/console-logger.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { grubLoaderKind, parseModuleList } from './grub-loader.ts';
import { makeArtifact } from './kind.ts';
import { sh } from './testing/source-tar.ts';

// Checked with sbverify (the Secure Boot signature) and the loader's own bytes (the built-in
// config); a boot of the whole chain is test/secure-boot's.
const REPO = path.resolve(import.meta.dirname, '../../..');
const TEST_KEYS = { dir: path.join(REPO, 'keys/test-keys'), external: false, malicious: false };
const HOST_MODULES = '/usr/lib/grub/x86_64-efi';
const { dir: work, at } = useTempDir('grub-loader');
const log = new ConsoleLogger(false);
const deps = { runner: new ExecaCommandRunner(log), log };

const options = (extra: Record<string, unknown> = {}) => ({
  artifact: 'bootx64.efi',
  rootfs: at('rootfs.tar'),
  modules: path.join(REPO, 'components/bootloader/grub-modules.txt'),
  earlyConfig: at('early.cfg'),
  keys: TEST_KEYS,
  ...extra,
});

async function failure(extra: Record<string, unknown>): Promise<string> {
  const error = await makeArtifact(grubLoaderKind, options(extra), at('fail.efi'), deps).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UserError);
  expect(existsSync(at('fail.efi'))).toBe(false);
  return (error as Error).message;
}

describe('parseModuleList', () => {
  it('reads names across lines and comments', () => {
    expect(parseModuleList('# c\nboot linux # kernel\n\npgp\n', 'm.txt')).toEqual(['boot', 'linux', 'pgp']);
  });
  it.each([
    ['boot\nLinux\n', 'm.txt:2: "Linux": a GRUB module name'],
    ['boot\nboot\n', 'm.txt:2: "boot" is listed twice'],
    ['# nothing\n', 'm.txt: lists no GRUB module'],
  ])('refuses %j', (text, message) => {
    expect(() => parseModuleList(text, 'm.txt')).toThrow(message);
  });
});

describe.skipIf(!existsSync(HOST_MODULES) && !process.env.CI)('grub-loader kind', () => {
  beforeAll(async () => {
    // A root filesystem tar with GRUB's modules where grub-efi-amd64-bin puts them (the host's).
    sh('tar', ['-cf', at('rootfs.tar'), '-C', '/', HOST_MODULES.slice(1)]);
    sh('tar', ['-cf', at('empty.tar'), '-C', work, '--files-from', '/dev/null']);
    await writeFile(at('early.cfg'), '# a comment GRUB would not parse\nset prefix=(hd0,gpt2)\nsource $prefix/grub.cfg\nhalt\n');
    await makeArtifact(grubLoaderKind, options(), at('bootx64.efi'), deps);
  });

  it('signs the loader for Secure Boot with the db key: sbverify accepts it with db.crt, not with another certificate', () => {
    const good = spawnSync('sbverify', ['--cert', path.join(TEST_KEYS.dir, 'db.crt'), at('bootx64.efi')], { encoding: 'utf8' });
    expect(good.status, good.stderr).toBe(0);
    const foreign = spawnSync('sbverify', ['--cert', path.join(TEST_KEYS.dir, 'kek.crt'), at('bootx64.efi')], { encoding: 'utf8' });
    expect(foreign.status).not.toBe(0);
  });

  it('builds in the early config without its comments, and the public key', async () => {
    const bytes = await readFile(at('bootx64.efi'));
    expect(bytes.includes('source $prefix/grub.cfg')).toBe(true);
    expect(bytes.includes('a comment GRUB would not parse')).toBe(false);
    // The key's fingerprint packet body: its RSA modulus is in the loader.
    const pub = await readFile(path.join(TEST_KEYS.dir, 'grub.pub'));
    expect(bytes.includes(pub.subarray(10, 74))).toBe(true);
  });

  it('is the same bytes when made again', async () => {
    await makeArtifact(grubLoaderKind, options(), at('again.efi'), deps);
    expect(sha256sum(at('again.efi'))).toBe(sha256sum(at('bootx64.efi')));
  });

  it('names a module the root filesystem lacks, with the list file', async () => {
    await writeFile(at('modules.txt'), 'boot\nno_such_module\n');
    expect(await failure({ modules: at('modules.txt') })).toContain(`${at('modules.txt')}: module "no_such_module" is not in the root filesystem's /usr/lib/grub/x86_64-efi`);
  });

  it('says which package is missing when the tar has no GRUB modules', async () => {
    expect(await failure({ rootfs: at('empty.tar') })).toContain('has no /usr/lib/grub/x86_64-efi: the container must install grub-efi-amd64-bin');
  });

  it('refuses external keys that were not named, and a dev-malicious image with external keys', async () => {
    expect(await failure({ keys: { dir: '', external: true } })).toContain('prod signing needs its keys: build with --define=ICOS_SIGNING_KEYS=/absolute/dir');
    expect(await failure({ keys: { dir: '/keys', external: true, malicious: true } })).toContain('a dev-malicious image is never signed with external (prod) keys');
    expect(await failure({ keys: { dir: work, external: true } })).toContain(`${path.join(work, 'grub.pub')}: missing or unreadable: the key directory of --define=ICOS_SIGNING_KEYS must hold grub.pub`);
  });
});
