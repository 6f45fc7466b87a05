/**
 * A throwaway "prod" key directory for tests that build a prod env: every file of keys/README.md,
 * freshly generated (openssl for the Secure Boot keys, gpg for GRUB's, Node for release.key) and
 * never committed (build/ is git-ignored). Made once under build/throwaway-prod-keys/ and reused;
 * `makeProdKeyDir(dir)` makes one elsewhere (the key hygiene test wants keys no cache has seen).
 * Nothing here prints key material.
 */
import { generateKeyPairSync } from 'node:crypto';
import { access, chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CommandRunner, Logger } from '../../tools/src/definitions.ts';
import { ExecaCommandRunner } from '../../tools/src/infra/execa-command-runner.ts';
import { REPO_ROOT } from '../../tools/src/lib/repo-root.ts';

/** The files of keys/README.md: what a key directory must hold. */
export const KEY_FILES = ['release.key', 'grub.key.asc', 'grub.pub', 'db.key', 'db.crt', 'pk.key', 'pk.crt', 'kek.key', 'kek.crt'] as const;

export const PROD_KEY_DIR = path.join(REPO_ROOT, 'build/throwaway-prod-keys');

const quiet: Logger = { info: () => {}, verbose: () => {}, warn: () => {} };
/** gpg keys dated before any SOURCE_DATE_EPOCH a signing step fakes (a key "from the future" is refused). */
const GPG_KEY_TIME = '1577836800!';

async function secureBootPair(runner: CommandRunner, dir: string, name: string): Promise<void> {
  await runner.run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
    '-subj', `/CN=icos throwaway test prod ${name}/`,
    '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`),
  ], { artifact: 'throwaway prod keys' });
}

async function grubKey(runner: CommandRunner, dir: string): Promise<void> {
  // A private GNUPGHOME of its own, removed in finally: the key never lands in a shared keyring.
  const home = await mkdtemp(path.join(tmpdir(), 'icos-throwaway-gnupg-'));
  try {
    await chmod(home, 0o700);
    const gpg = (args: string[]) =>
      runner.run('gpg', ['--homedir', home, '--batch', '--quiet', '--faked-system-time', GPG_KEY_TIME, ...args], { artifact: 'throwaway prod keys' });
    await gpg(['--passphrase', '', '--quick-generate-key', 'icos throwaway test prod GRUB key', 'rsa2048', 'sign', 'never']);
    await gpg(['--armor', '--output', path.join(dir, 'grub.key.asc'), '--export-secret-keys']);
    await gpg(['--output', path.join(dir, 'grub.pub'), '--export']);
  } finally {
    await runner.run('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

/** Generates every key file into `dir` (made here, must not exist), mode 0700. */
export async function makeProdKeyDir(dir: string, runner: CommandRunner = new ExecaCommandRunner(quiet)): Promise<string> {
  await mkdir(dir, { mode: 0o700 });
  const release = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' });
  await writeFile(path.join(dir, 'release.key'), release, { mode: 0o600 });
  for (const name of ['db', 'pk', 'kek']) await secureBootPair(runner, dir, name);
  await grubKey(runner, dir);
  return dir;
}

let shared: Promise<string> | undefined;

/** build/throwaway-prod-keys/, made on first use (complete or not at all) and reused after. */
export function prodKeyDir(): Promise<string> {
  shared ??= (async () => {
    const complete = await Promise.all(KEY_FILES.map((file) => access(path.join(PROD_KEY_DIR, file)).then(() => true, () => false)));
    if (complete.every(Boolean)) return PROD_KEY_DIR;
    await mkdir(path.dirname(PROD_KEY_DIR), { recursive: true });
    // Made beside and renamed, so two test files or an interrupted run never see half a directory.
    const partial = `${PROD_KEY_DIR}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await makeProdKeyDir(partial);
    await rm(PROD_KEY_DIR, { recursive: true, force: true });
    await rename(partial, PROD_KEY_DIR).catch(async (error: NodeJS.ErrnoException) => {
      await rm(partial, { recursive: true, force: true });
      // Another process renamed its own complete directory into place first.
      if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
    });
    return PROD_KEY_DIR;
  })();
  return shared;
}

/** The Bazel flag that names the key directory of a prod build. */
export function signingKeysDefine(dir: string): string {
  return `--define=ICOS_SIGNING_KEYS=${dir}`;
}
