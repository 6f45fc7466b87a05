import { z } from 'zod';
import { UserError } from '../errors.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { copyImageFile } from '../lib/copy-data.ts';
import { parseFileContexts, type FileContexts } from '../lib/file-contexts.ts';
import { sourceDateEpoch } from '../lib/reproducible.ts';
import type { ExtraFile } from '../lib/rootfs-tree.ts';
import { runDebugfs } from './ext4/fixups.ts';
import { normalizeSuperblocks } from './ext4/superblock.ts';
import { buildInjectScript, probeImage } from './ext4-inject/script.ts';
import type { ArtifactKind, BuildDeps } from './kind.ts';
import { artifactLabel, checkInputFiles, rootfsOptionFields } from './rootfs-options.ts';
import { readRegularText, statRegularFile } from '../lib/input-file.ts';

/**
 * `ext4-inject`: a copy of a finished ext4 image with some files written into it (IC-OS
 * `inject_files`). The static root image is built once from the container's tar; late-injected
 * binaries and the version file are then added here in one debugfs pass, so changing a binary
 * costs a copy of the image instead of unpacking the whole tree again.
 *
 * Injected files get the given mode, owner 0:0, every time = SOURCE_DATE_EPOCH and, with
 * file_contexts, their SELinux label; missing parent directories are created 0755 0:0 (labelled
 * too). An existing file (or symlink) at a destination is replaced; a directory is an error.
 */

const KIND = 'ext4-inject';

const optionsSchema = z.object({
  artifact: rootfsOptionFields.artifact,
  /** The ext4 image to start from (read only). */
  base: z.string().min(1),
  extra: rootfsOptionFields.extra,
  /** SELinux file_contexts whose labels go on the injected inodes. */
  fileContexts: z.string().min(1).optional(),
}).strict();

export type Ext4InjectOptions = z.infer<typeof optionsSchema>;

export interface Ext4InjectPlan {
  /** `ext4-inject(name)` for messages. */
  artifact: string;
  base: string;
  size: number;
  extras: ExtraFile[];
  fileContexts?: FileContexts;
  epoch: number;
}

async function plan(options: Ext4InjectOptions): Promise<Ext4InjectPlan> {
  const artifact = artifactLabel(KIND, options.artifact);
  await checkInputFiles(artifact, undefined, options.extra);
  const info = await statRegularFile(options.base, `${artifact}: --base "${options.base}"`);
  let fileContexts: FileContexts | undefined;
  if (options.fileContexts !== undefined) {
    const text = await readRegularText(options.fileContexts, `${artifact}: --file-contexts "${options.fileContexts}"`);
    fileContexts = parseFileContexts(text, options.fileContexts);
  }
  return { artifact, base: options.base, size: info.size, extras: options.extra, fileContexts, epoch: sourceDateEpoch() };
}

async function build(plan: Ext4InjectPlan, outPath: string, deps: BuildDeps): Promise<void> {
  // The base image's data extents (in the kernel where it can) into a fresh sparse file.
  await copyImageFile(plan.base, plan.size, outPath);
  // Checks the magic before debugfs is let loose on something that is not ext4.
  await normalizeSuperblocks(outPath, plan.epoch).catch((error: unknown) => {
    throw error instanceof UserError ? new UserError(`${plan.artifact}: --base "${plan.base}": not an ext4 image`) : error;
  });
  if (plan.extras.length === 0) return;
  await withScratchDir('ext4-inject', async (scratchDir) => {
    const existing = await probeImage(deps.runner, outPath, plan.extras, scratchDir);
    const commands = await buildInjectScript({ ...plan, existing, scratchDir });
    await runDebugfs(deps.runner, { imagePath: outPath, commands, scratchDir, artifact: plan.artifact, epoch: plan.epoch });
  });
  await normalizeSuperblocks(outPath, plan.epoch);
}

/** The `ext4-inject` kind (see the module comment). */
export const ext4InjectKind: ArtifactKind<Ext4InjectOptions, Ext4InjectPlan> = {
  name: KIND,
  options: optionsSchema,
  plan,
  build,
};
