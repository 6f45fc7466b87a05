import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { copyImageFile } from '../lib/copy-data.ts';
import { statRegularFile } from '../lib/input-file.ts';
import { sourceDateEpoch } from '../lib/reproducible.ts';
import { normalizeImagePath } from '../lib/rootfs-tree.ts';
import { gpgDetachSign } from '../signing/gpg-sign.ts';
import { checkKeySource, keyFile, KeySourceSchema, type KeySource } from '../signing/key-source.ts';
import { ext4InjectKind } from './ext4-inject.ts';
import { addFatFiles, detectFilesystem, extractFile } from './grub-signed/filesystems.ts';
import type { ArtifactKind, BuildDeps } from './kind.ts';

/**
 * `grub-signed`: a copy of a partition image (ext4 or FAT) with GRUB's detached signature
 * `FILE.sig` beside each listed file: the files the signed loader opens (grub.cfg, the kernel,
 * the initrd, boot_args with the kernel command line and so the verity root hash). A symlink is
 * signed with its target's bytes, as GRUB follows it. Files not listed stay unsigned, and GRUB
 * refuses to open them (grubenv is read with `load_env --skip-sig`).
 */

const KIND = 'grub-signed';

const optionsSchema = z
  .object({
    artifact: z.string().min(1),
    /** The partition image to copy (read only). */
    image: z.string().min(1),
    /** Absolute paths in the image to sign. */
    files: z.array(z.string()).min(1),
    keys: KeySourceSchema,
  })
  .strict();

export type GrubSignedOptions = z.infer<typeof optionsSchema>;

export interface GrubSignedPlan {
  artifact: string;
  image: string;
  size: number;
  files: string[];
  keys: KeySource;
  epoch: number;
}

async function plan(options: GrubSignedOptions): Promise<GrubSignedPlan> {
  const artifact = `${KIND}(${options.artifact})`;
  checkKeySource(options.keys, artifact);
  const files = options.files.map((file) => normalizeImagePath(file, `${artifact}: --file`));
  const twice = files.find((file, index) => files.indexOf(file) !== index);
  if (twice !== undefined) throw new UserError(`${artifact}: --file "${twice}" is listed twice`);
  const info = await statRegularFile(options.image, `${artifact}: --image "${options.image}"`);
  return { artifact, image: options.image, size: info.size, files, keys: options.keys, epoch: sourceDateEpoch() };
}

async function build(plan: GrubSignedPlan, outPath: string, deps: BuildDeps): Promise<void> {
  const { artifact } = plan;
  const fs = await detectFilesystem(plan.image, `${artifact}: --image "${plan.image}"`);
  const key = await keyFile(plan.keys, 'grub.key.asc', artifact);
  await withScratchDir(KIND, async (scratch) => {
    const signatures = [];
    for (const [index, file] of plan.files.entries()) {
      const source = path.join(scratch, `${index}.data`);
      await extractFile(deps.runner, fs, plan.image, file, source, artifact);
      signatures.push({ source, signature: path.join(scratch, `${index}.sig`), destination: `${file}.sig` });
    }
    await gpgDetachSign(deps.runner, key, signatures, plan.epoch, artifact);
    const added = signatures.map(({ signature, destination }) => ({ source: signature, destination, mode: 0o644 }));
    if (fs === 'ext4') {
      // ext4-inject's pass: same owners, times and replacement rules as every injected file.
      await ext4InjectKind.build({ artifact, base: plan.image, size: plan.size, extras: added, epoch: plan.epoch }, outPath, deps);
      return;
    }
    await copyImageFile(plan.image, plan.size, outPath);
    await addFatFiles(deps.runner, outPath, added, plan.epoch, artifact);
  });
}

/** The `grub-signed` kind (see the module comment). */
export const grubSignedKind: ArtifactKind<GrubSignedOptions, GrubSignedPlan> = {
  name: KIND,
  options: optionsSchema,
  plan,
  build,
};
