import { truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { parseFileContexts, projectFileContexts, type FileContexts } from '../lib/file-contexts.ts';
import { sourceDateEpoch } from '../lib/reproducible.ts';
import {
  addExtraFile,
  emptyTree,
  estimateDataBytes,
  normalizeImagePath,
  stripPath,
  type ExtraFile,
} from '../lib/rootfs-tree.ts';
import { materializeTar } from '../lib/rootfs-tree/read-tar.ts';
import { describeSize } from '../lib/size.ts';
import { quoted } from '../messages.ts';
import { buildFixupScript, runDebugfs } from './ext4/fixups.ts';
import { BLOCK_SIZE, runMke2fs } from './ext4/mke2fs.ts';
import { normalizeSuperblocks } from './ext4/superblock.ts';
import type { ArtifactKind, BuildDeps } from './kind.ts';
import { artifactLabel, checkInputFiles, rootfsOptionFields } from './rootfs-options.ts';
import { readRegularText } from '../lib/input-file.ts';

/**
 * ext4 filesystem images from a root filesystem tar (IC-OS root, boot and config partitions).
 *
 * Pipeline: tar -> staging tree (owners, modes, links, devices as in the tar) -> `--strip` ->
 * `--extra` -> `mke2fs -d` (own mke2fs.conf, fixed hash seed, null UUID) -> one debugfs pass
 * (timestamps = SOURCE_DATE_EPOCH, tar xattrs, SELinux labels) -> superblock times normalised.
 * Every inode's atime/mtime/ctime/crtime is SOURCE_DATE_EPOCH (the tar's mtimes are not kept).
 */

const optionsSchema = z.object({
  ...rootfsOptionFields,
  /** Paths removed after extraction: a directory keeps itself but loses its contents. */
  strip: z.array(z.string()).default([]),
  /** SELinux file_contexts whose labels become `security.selinux` xattrs. */
  fileContexts: z.string().min(1).optional(),
  // The superblock's s_volume_name holds 16 bytes: a label is counted in UTF-8 bytes, not characters.
  label: z
    .string()
    .min(1)
    .refine((label) => !/[\u0000-\u001f\u007f-\u009f]/.test(label), (label) => ({ message: `--label ${quoted(label)}: a label holds no control characters` }))
    .refine((label) => Buffer.byteLength(label, 'utf8') <= 16, (label) => ({ message: `--label ${quoted(label)} is ${Buffer.byteLength(label, 'utf8')} bytes in UTF-8: ext4 labels are at most 16 bytes` }))
    .optional(),
}).strict();

export type Ext4Options = z.infer<typeof optionsSchema>;

export interface Ext4Plan {
  /** `ext4(name)` for messages. */
  artifact: string;
  size: number;
  src?: string;
  subdir: string;
  strip: string[];
  extras: ExtraFile[];
  fileContexts?: FileContexts;
  label?: string;
  epoch: number;
}

/** Smallest image mke2fs makes with a journal at 4 KiB blocks, rounded up. */
const MIN_SIZE = 4 * 1024 * 1024;

async function plan(options: Ext4Options): Promise<Ext4Plan> {
  const artifact = artifactLabel('ext4', options.artifact);
  if (options.size % BLOCK_SIZE !== 0 || options.size < MIN_SIZE) {
    throw new UserError(`${artifact}: --size ${describeSize(options.size)}: must be a multiple of 4 KiB and at least 4 MiB`);
  }
  const strip = options.strip.map((p) => normalizeImagePath(p, `${artifact}: --strip`));
  await checkInputFiles(artifact, options.src, options.extra);
  if (options.src === undefined && options.subdir !== '/') {
    throw new UserError(`${artifact}: --subdir "${options.subdir}" needs --src`);
  }
  let fileContexts: FileContexts | undefined;
  if (options.fileContexts !== undefined) {
    const text = await readRegularText(options.fileContexts, `${artifact}: --file-contexts "${options.fileContexts}"`);
    fileContexts = projectFileContexts(parseFileContexts(text, options.fileContexts), options.subdir);
  }
  return {
    artifact,
    size: options.size,
    src: options.src,
    subdir: options.subdir,
    strip,
    extras: options.extra,
    fileContexts,
    label: options.label,
    epoch: sourceDateEpoch(),
  };
}

async function build(plan: Ext4Plan, outPath: string, deps: BuildDeps): Promise<void> {
  await withScratchDir('ext4', async (scratchDir) => {
    const stagingDir = path.join(scratchDir, 'root');
    const tree =
      plan.src === undefined
        ? await emptyTree(stagingDir)
        : await materializeTar({
            tarPath: plan.src,
            subdir: plan.subdir,
            stagingDir,
            runner: deps.runner,
            artifact: plan.artifact,
            allowSpecialFiles: true,
          });
    for (const strip of plan.strip) {
      if (!(await stripPath(tree, strip))) deps.log.warn(`${plan.artifact}: --strip "${strip}": not in the tree, nothing removed`);
    }
    for (const extra of plan.extras) await addExtraFile(tree, extra, plan.artifact);
    const dataBytes = estimateDataBytes(tree, BLOCK_SIZE);
    if (dataBytes > plan.size) {
      throw new UserError(
        `${plan.artifact}: content needs at least ${describeSize(dataBytes)} but --size is ${describeSize(plan.size)}`,
      );
    }
    await writeFile(outPath, '');
    await truncate(outPath, plan.size);
    await runMke2fs({ ...plan, runner: deps.runner, scratchDir, stagingDir, imagePath: outPath, sizeBytes: plan.size, dataBytes });
    const commands = await buildFixupScript({ tree, epoch: plan.epoch, fileContexts: plan.fileContexts, scratchDir });
    await runDebugfs(deps.runner, { imagePath: outPath, commands, scratchDir, artifact: plan.artifact, epoch: plan.epoch });
    await normalizeSuperblocks(outPath, plan.epoch);
  });
}

/** `icos ext4`: an ext4 image of a fixed size from a rootfs tar (or empty). */
export const ext4Kind: ArtifactKind<Ext4Options, Ext4Plan> = {
  name: 'ext4',
  options: optionsSchema,
  plan,
  build,
};
