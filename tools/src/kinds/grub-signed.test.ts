import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { icosInProcess, sha256sum, useTempDir } from '../../../test/support/tools.ts';
import { UserError } from '../errors.ts';
import { ConsoleLogger } from '../infra/console-logger.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { grubSignedKind } from './grub-signed.ts';
import { makeArtifact } from './kind.ts';
import { sh, tarTree } from './testing/source-tar.ts';

// Signatures are checked by gpgv against the public key GRUB gets (keys/test-keys/grub.pub), on
// files read back with debugfs and mtools; the filesystems with e2fsck and fsck.fat.
const REPO = path.resolve(import.meta.dirname, '../../..');
const TEST_KEYS = { dir: path.join(REPO, 'keys/test-keys'), external: false, malicious: false };
const { dir: work, at } = useTempDir('grub-signed');
const log = new ConsoleLogger(false);
const deps = { runner: new ExecaCommandRunner(log), log };

// Signatures carry SOURCE_DATE_EPOCH as their time, older than the key: GRUB checks no times.
function gpgv(signature: string, data: string) {
  return spawnSync('gpgv', ['--ignore-time-conflict', '--keyring', path.join(TEST_KEYS.dir, 'grub.pub'), signature, data], { encoding: 'utf8' });
}

async function sign(image: string, out: string, files: string[], keys: object = TEST_KEYS): Promise<void> {
  await makeArtifact(grubSignedKind, { artifact: path.basename(out), image, files, keys }, out, deps);
}

async function failure(image: string, files: string[], keys: object = TEST_KEYS): Promise<string> {
  const error = await sign(image, at('fail.img'), files, keys).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UserError);
  expect(existsSync(at('fail.img'))).toBe(false);
  return (error as Error).message;
}

beforeAll(async () => {
  await mkdir(at('tree/dir'), { recursive: true });
  await writeFile(at('tree/vmlinuz-6.1'), Buffer.concat([Buffer.from('kernel'), Buffer.alloc(200_000, 3)]));
  await symlink('vmlinuz-6.1', at('tree/vmlinuz'));
  await writeFile(at('tree/boot_args'), 'BOOT_ARGS_A="root=/dev/vda5 root_hash=00"\n');
  await writeFile(at('tree/grub.cfg'), 'source $prefix/x\n');
  tarTree(at('tree'), at('tree.tar'));
  expect((await icosInProcess(['ext4', '--out', at('boot.img'), '--size', '16M', '--src', at('tree.tar')])).code).toBe(0);
  expect((await icosInProcess(['vfat', '--out', at('grub.img'), '--size', '1M', '--extra', `${at('tree/grub.cfg')}:/grub.cfg:0644`])).code).toBe(0);
  await sign(at('boot.img'), at('boot-signed.img'), ['/vmlinuz', '/boot_args']);
  await sign(at('grub.img'), at('grub-signed.img'), ['/grub.cfg']);
});

describe('grub-signed kind', () => {
  it('adds an ext4 file.sig that gpgv accepts for the file, signing a symlink with its target', () => {
    for (const name of ['vmlinuz.sig', 'boot_args']) sh('debugfs', ['-R', `dump /${name} ${at(`out-${name}`)}`, at('boot-signed.img')]);
    expect(gpgv(at('out-vmlinuz.sig'), at('tree/vmlinuz-6.1')).status).toBe(0);
    sh('debugfs', ['-R', `dump /boot_args.sig ${at('out-boot_args.sig')}`, at('boot-signed.img')]);
    expect(gpgv(at('out-boot_args.sig'), at('out-boot_args')).status).toBe(0);
    // Another file's bytes do not match.
    expect(gpgv(at('out-vmlinuz.sig'), at('out-boot_args')).status).not.toBe(0);
    const fsck = spawnSync('e2fsck', ['-fn', at('boot-signed.img')], { encoding: 'utf8' });
    expect(fsck.status, fsck.stdout).toBe(0);
  });

  it('adds a FAT file.sig that gpgv accepts', () => {
    sh('mcopy', ['-i', at('grub-signed.img'), '::/grub.cfg.sig', at('grub.cfg.sig')]);
    expect(gpgv(at('grub.cfg.sig'), at('tree/grub.cfg')).status).toBe(0);
    expect(spawnSync('fsck.fat', ['-n', at('grub-signed.img')]).status).toBe(0);
  });

  it('is the same bytes when made again, and leaves its input alone', async () => {
    const before = sha256sum(at('boot.img'));
    await sign(at('boot.img'), at('boot-again.img'), ['/vmlinuz', '/boot_args']);
    expect(sha256sum(at('boot-again.img'))).toBe(sha256sum(at('boot-signed.img')));
    expect(sha256sum(at('boot.img'))).toBe(before);
  });

  it('names a file the image lacks, a directory, and an image of neither filesystem', async () => {
    expect(await failure(at('boot.img'), ['/initrd.img'])).toMatch(/grub-signed\(fail.img\): "\/initrd.img" is not in the image .*: it cannot be signed/);
    expect(await failure(at('boot.img'), ['/dir'])).toContain('"/dir" is a directory, not a file: it cannot be signed');
    expect(await failure(at('grub.img'), ['/missing.cfg'])).toContain('"/missing.cfg" is not a file of the image: it cannot be signed');
    await writeFile(at('zeros.img'), Buffer.alloc(65536));
    expect(await failure(at('zeros.img'), ['/x'])).toContain(`--image "${at('zeros.img')}": neither ext4 nor FAT`);
  });

  it('refuses a path listed twice and external keys not named', async () => {
    expect(await failure(at('boot.img'), ['/boot_args', '/boot_args'])).toContain('--file "/boot_args" is listed twice');
    expect(await failure(at('boot.img'), ['/boot_args'], { dir: '', external: true })).toContain('--define=ICOS_SIGNING_KEYS');
  });
});
