import { truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { sourceDateEpoch } from '../lib/reproducible.ts';
import { addExtraFile, addParentDirectories, emptyTree, estimateDataBytes, type ExtraFile } from '../lib/rootfs-tree.ts';
import { materializeTar } from '../lib/rootfs-tree/read-tar.ts';
import { describeSize } from '../lib/size.ts';
import { MESSAGES } from '../messages.ts';
import type { ArtifactKind, BuildDeps } from './kind.ts';
import { artifactLabel, checkInputFiles, rootfsOptionFields } from './rootfs-options.ts';
import { checkFatNames, copyTree, setLabel } from './vfat/mtools.ts';

/**
 * FAT images (ESP, SetupOS CONFIG) from a rootfs tar: only files and directories (owners and
 * modes do not exist on FAT; `--extra` MODE is checked but not used; missing parent directories
 * of `--extra` files are made). `mkfs.fat --invariant -i 0`
 * then mtools in sorted order, every timestamp SOURCE_DATE_EPOCH clamped to 1980-01-01.
 */

const optionsSchema = z.object({
  ...rootfsOptionFields,
  /** Force FAT32 (otherwise mkfs.fat picks FAT12/16 by size). */
  fat32: z.boolean().default(false),
  label: z
    .string()
    .regex(/^[A-Z0-9_-]{1,11}$/, 'FAT labels are 1 to 11 characters of A-Z, 0-9, _ and -')
    .optional(),
}).strict();

export type VfatOptions = z.infer<typeof optionsSchema>;

export interface VfatPlan {
  artifact: string;
  size: number;
  src?: string;
  subdir: string;
  extras: ExtraFile[];
  fat32: boolean;
  label?: string;
  epoch: number;
}

const SECTOR = 512;
const MIN_SIZE = 64 * 1024;
/** FAT32 has at least 65525 clusters: with fewer, readers take the file system for FAT16. */
export const FAT32_MIN_CLUSTERS = 65525;
/**
 * The smallest image mkfs.fat formats as FAT32 without its "less than suggested minimum" warning:
 * 32 reserved sectors, two 513-sector FATs and 65534 one-sector clusters (mkfs.fat keeps a margin
 * above FAT32_MIN_CLUSTERS). Found by formatting; format-limits.test.ts checks it both ways.
 * Smaller, mkfs.fat only warns and writes a FAT32 that readers may take for FAT16.
 */
export const FAT32_MIN_SIZE = 66592 * SECTOR;
/** The boot sector's total sector count is 32-bit: a FAT image of 512-byte sectors ends before 2 TiB. */
export const FAT_MAX_SIZE = (2 ** 32 - 1) * SECTOR;
/** Cluster size mkfs.fat uses at most for the images we make; the data estimate rounds to it. */
const CLUSTER_ESTIMATE = 512;

async function plan(options: VfatOptions): Promise<VfatPlan> {
  const artifact = artifactLabel('vfat', options.artifact);
  if (options.size % SECTOR !== 0 || options.size < MIN_SIZE) {
    throw new UserError(`${artifact}: --size ${describeSize(options.size)}: must be a multiple of 512 bytes and at least 64 KiB`);
  }
  if (options.size > FAT_MAX_SIZE) {
    throw new UserError(MESSAGES.exceedsLimit(`${artifact}: --size ${describeSize(options.size)}`, `FAT counts at most ${FAT_MAX_SIZE / SECTOR} sectors of ${SECTOR} bytes (32-bit sector count)`));
  }
  if (options.fat32 && options.size < FAT32_MIN_SIZE) {
    throw new UserError(
      `${artifact}: --size ${describeSize(options.size)}: --fat32 needs at least ${describeSize(FAT32_MIN_SIZE)}, room for FAT32's minimum of ${FAT32_MIN_CLUSTERS} clusters with mkfs.fat's margin`,
    );
  }
  if (options.src === undefined && options.subdir !== '/') throw new UserError(`${artifact}: --subdir "${options.subdir}" needs --src`);
  await checkInputFiles(artifact, options.src, options.extra);
  return { artifact, size: options.size, src: options.src, subdir: options.subdir, extras: options.extra, fat32: options.fat32, label: options.label, epoch: sourceDateEpoch() };
}

async function build(plan: VfatPlan, outPath: string, deps: BuildDeps): Promise<void> {
  await withScratchDir('vfat', async (scratchDir) => {
    const stagingDir = path.join(scratchDir, 'root');
    const tree =
      plan.src === undefined
        ? await emptyTree(stagingDir)
        : await materializeTar({ tarPath: plan.src, subdir: plan.subdir, stagingDir, runner: deps.runner, artifact: plan.artifact, allowSpecialFiles: false });
    for (const extra of plan.extras) {
      await addParentDirectories(tree, extra.destination);
      await addExtraFile(tree, extra, plan.artifact);
    }
    checkFatNames(tree, plan.artifact);
    const dataBytes = estimateDataBytes(tree, CLUSTER_ESTIMATE);
    if (dataBytes > plan.size) {
      throw new UserError(`${plan.artifact}: content needs at least ${describeSize(dataBytes)} but --size is ${describeSize(plan.size)}`);
    }
    await writeFile(outPath, '');
    await truncate(outPath, plan.size);
    // --invariant fixes the remaining time-derived fields; -i must come after it to win.
    await deps.runner.run('mkfs.fat', ['--invariant', '-i', '00000000', ...(plan.fat32 ? ['-F', '32'] : []), outPath], { artifact: plan.artifact });
    const run = { runner: deps.runner, imagePath: outPath, artifact: plan.artifact, epoch: plan.epoch };
    if (plan.label !== undefined) await setLabel(run, plan.label);
    try {
      await copyTree(run, tree);
    } catch (error) {
      if (error instanceof UserError && /Disk full|No free clusters|No space/i.test(error.message)) {
        throw new UserError(`${plan.artifact}: content of at least ${describeSize(dataBytes)} does not fit in --size ${describeSize(plan.size)} once FAT metadata is added`);
      }
      throw error;
    }
  });
}

/** `icos vfat`: a FAT12/16/32 image of a fixed size from a rootfs tar (or empty). */
export const vfatKind: ArtifactKind<VfatOptions, VfatPlan> = {
  name: 'vfat',
  options: optionsSchema,
  plan,
  build,
};
