/**
 * Where a signing step finds its keys (keys/README.md): the repository's public test keys, or a
 * directory named at build time (`--define=ICOS_SIGNING_KEYS=DIR`, prod). The manifest carries
 * only the directory's path, never key bytes.
 */
import type { KeyObject } from 'node:crypto';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { readRegularFile } from '../lib/input-file.ts';
import { quoted } from '../messages.ts';
import { parsePrivateKey } from './minisign.ts';

export const KEY_DIR_DEFINE = 'ICOS_SIGNING_KEYS';

export const KeySourceSchema = z
  .object({
    /** The key directory: execroot-relative for the test keys, absolute for external keys ("" when not given). */
    dir: z.string(),
    /** true: keys from outside the repository (prod); false: keys/test-keys. */
    external: z.boolean(),
    /** The image is dev-malicious: it may never carry an external (prod) signature. */
    malicious: z.boolean().default(false),
  })
  .strict();
export type KeySource = z.infer<typeof KeySourceSchema>;

/** The file names of keys/README.md. */
export type KeyFile = 'release.key' | 'grub.key.asc' | 'grub.pub' | 'db.key' | 'db.crt' | 'pk.key' | 'pk.crt' | 'kek.key' | 'kek.crt';

/** Pure checks of a key source: what a signing kind's plan runs before any I/O. */
export function checkKeySource(source: KeySource, artifact: string): void {
  if (!source.external) return;
  if (source.malicious) {
    throw new UserError(`${artifact}: a dev-malicious image is never signed with external (prod) keys`);
  }
  if (source.dir === '') {
    throw new UserError(
      `${artifact}: prod signing needs its keys: build with --define=${KEY_DIR_DEFINE}=/absolute/dir (the files of keys/README.md)`,
    );
  }
  if (!path.isAbsolute(source.dir)) {
    throw new UserError(`${artifact}: --define=${KEY_DIR_DEFINE}=${source.dir}: the key directory must be an absolute path`);
  }
}

/** The path of one key file of the source, after checking it can be read. */
export async function keyFile(source: KeySource, file: KeyFile, artifact: string): Promise<string> {
  checkKeySource(source, artifact);
  const location = path.join(source.dir, file);
  try {
    await access(location, constants.R_OK);
  } catch {
    const where = source.external ? `the key directory of --define=${KEY_DIR_DEFINE}` : 'the test keys';
    throw new UserError(`${artifact}: ${location}: missing or unreadable: ${where} must hold ${file} (keys/README.md)`);
  }
  return location;
}

/** The Ed25519 key `release.key` of the source, held in memory only; messages name its file. */
export async function readReleaseKey(source: KeySource, artifact: string): Promise<KeyObject> {
  const location = await keyFile(source, 'release.key', artifact);
  const where = `${artifact}: ${quoted(location)}`;
  return parsePrivateKey(await readRegularFile(location, where, { maxBytes: 16384 }), where);
}
