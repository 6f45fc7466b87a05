import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { KeySourceSchema, checkKeySource, readReleaseKey, type KeySource } from '../signing/key-source.ts';
import { publicKeyFile } from '../signing/minisign.ts';
import type { ArtifactKind } from './kind.ts';
import { artifactLabel } from './rootfs-options.ts';

/**
 * `minisign-public-key`: the minisign public key file of an env's `release.key` (keys/README.md),
 * what an OS's root carries so that its upgrade tool accepts only upgrade images that key signed
 * (their MANIFEST.TXT.minisig, the upgrade-image kind). It is the same file as the release's
 * `release.pub`, which cannot be used here: the release signature covers the images, so the root
 * would depend on itself. The key id follows from the key (minisign.ts), so the file does too.
 */

const KIND = 'minisign-public-key';

const optionsSchema = z
  .object({
    artifact: z.string().min(1),
    keys: KeySourceSchema,
  })
  .strict();

export type MinisignPublicKeyOptions = z.infer<typeof optionsSchema>;

export interface MinisignPublicKeyPlan {
  artifact: string;
  keys: KeySource;
}

function plan(options: MinisignPublicKeyOptions): MinisignPublicKeyPlan {
  const artifact = artifactLabel(KIND, options.artifact);
  // A prod build without its key directory fails here, before any file is read.
  checkKeySource(options.keys, artifact);
  return { artifact, keys: options.keys };
}

async function build(plan: MinisignPublicKeyPlan, outPath: string): Promise<void> {
  // Only the public half leaves this function.
  await writeFile(outPath, publicKeyFile(await readReleaseKey(plan.keys, plan.artifact)));
}

/** The `minisign-public-key` artifact kind. */
export const minisignPublicKeyKind: ArtifactKind<MinisignPublicKeyOptions, MinisignPublicKeyPlan> = {
  name: KIND,
  options: optionsSchema,
  plan,
  build,
};
