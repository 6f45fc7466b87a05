/**
 * GRUB's detached signatures (`FILE.sig`, OpenPGP), made by gpg from the key source's
 * grub.key.asc. gpg only signs from a keyring, so the key is imported into a private home that
 * is removed afterwards, agent included: no copy of the key outlives the call.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from '../definitions.ts';

export interface DetachedSignature {
  /** The bytes signed (a file on the host). */
  source: string;
  /** Where the signature is written. */
  signature: string;
}

/**
 * Signs each source. `epoch` fixes the signature's creation time, so a signature depends only on
 * the key and the bytes (RSA PKCS#1 v1.5 is deterministic). The key may be younger than the
 * epoch: GRUB does not check times, so gpg's time check is turned off.
 */
export async function gpgDetachSign(
  runner: CommandRunner,
  keyFile: string,
  signatures: readonly DetachedSignature[],
  epoch: number,
  artifact: string,
): Promise<void> {
  // Under /tmp, not TMPDIR: gpg-agent's socket lives in the home and its path must stay short.
  const home = await mkdtemp(path.join('/tmp', 'icos-gpg-'));
  const gpg = ['--homedir', home, '--batch', '--quiet', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', ''];
  try {
    await chmod(home, 0o700);
    await runner.run('gpg', [...gpg, '--import', keyFile], { artifact });
    for (const { source, signature } of signatures) {
      await runner.run(
        'gpg',
        [...gpg, '--yes', '--ignore-time-conflict', '--faked-system-time', `${epoch}!`, '--digest-algo', 'SHA256', '--detach-sign', '--output', signature, source],
        { artifact },
      );
    }
  } finally {
    await runner.run('gpgconf', ['--homedir', home, '--kill', 'all'], { artifact }).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}
