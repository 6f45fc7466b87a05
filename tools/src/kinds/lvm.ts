import { open, stat } from 'node:fs/promises';
import { z } from 'zod';
import { fromSystemError, UserError } from '../errors.ts';
import { LVM_LIMIT_RULE, MAX_LVM_END_EXTENT } from '../inputs/limits.ts';
import { EXTENT_SIZE, SECTOR_SIZE, type Volume, type VolumeTable } from '../inputs/tables.ts';
import { describeSize } from '../lib/size.ts';
import { copyDataInto } from '../lib/copy-data.ts';
import type { ArtifactKind, BuildDeps } from './kind.ts';
import {
  DATA_AREA_OFFSET,
  LABEL_SECTOR,
  labelSector,
  METADATA_AREA_OFFSET,
  METADATA_AREA_SIZE,
  metadataAreaStart,
  SECTOR,
} from './lvm/lvm-labels.ts';
import { MESSAGES, quoted } from '../messages.ts';
import { renderMetadataText } from './lvm/lvm-metadata-text.ts';
import { checkValue, lvmIdBytes, lvmIdProblem, lvNameProblem, vgNameProblem } from './lvm/lvm-names.ts';
import { describeFileType } from '../lib/input-file.ts';

/**
 * `lvm`: an LVM2 physical volume image holding one VG whose linear LVs are laid out as a volume
 * table says, written byte by byte (no lvm tools, no device-mapper). Layout: label in sector 1,
 * metadata area from 4 KiB, data area from 1 MiB; LV k lives at 1 MiB + start x 4 MiB. The image
 * is exactly 1 MiB + (highest end extent) x 4 MiB long, sparse wherever no image data was copied.
 */

/** The creation time IC-OS writes into its LVM metadata (2021-05-07 UTC). */
export const IC_OS_LVM_CREATION_TIME = 1620345600;

const quotable = z.string().regex(/^[^"\\\n]*$/, 'must not contain quotes, backslashes or newlines');

const volumeSchema = z.object({
  name: z.string(),
  start: z.number().int().nonnegative(),
  size: z.number().int().positive(),
  uuid: z.string(),
  comment: z.string(),
  line: z.number().int(),
});

const optionsSchema = z.object({
  /** The validated volume table (volumes.csv): LV names, extents and ids, in file order. */
  volumes: z.object({ file: z.string(), volumes: z.array(volumeSchema) }),
  /** VG name, checked against lvm2's naming rules. */
  vgName: z.string(),
  /** VG id, LVM form (6-4-4-4-4-4-6). */
  vgUuid: z.string(),
  /** PV id, LVM form (6-4-4-4-4-4-6). */
  pvUuid: z.string(),
  /** Raw images copied into LVs, keyed by LV name; LVs without one stay zero (holes). */
  images: z.record(z.string(), z.string()).default({}),
  /** `creation_time` of the VG and every LV (seconds since 1970); IC-OS uses 1620345600. */
  creationTime: z.number().int().nonnegative().default(IC_OS_LVM_CREATION_TIME),
  /** `creation_host` of the VG and every LV. */
  creationHost: quotable.default('builder'),
  /** The PV's `device` hint in the metadata (the HostOS LVM partition); lvm2 does not rely on it. */
  deviceHint: quotable.default('/dev/nvme0n1p3'),
}).strict();

export type LvmOptions = z.infer<typeof optionsSchema>;

/** One LV to fill from an image file. */
export interface LvmFill {
  volume: string;
  imagePath: string;
  imageSize: number;
  /** Byte offset of the LV in the output image. */
  offset: number;
}

/** Everything `build` writes: total size, the two header blocks and the LV fills. */
export interface LvmPlan {
  imageSize: number;
  label: Buffer;
  metadataArea: Buffer;
  fills: LvmFill[];
}

function tableError(table: VolumeTable, message: string): UserError {
  return new UserError(`lvm(${table.file}): ${message}`);
}

function checkTable(table: VolumeTable): void {
  if (table.volumes.length === 0) throw tableError(table, 'the volume table has no volumes');
  const seenNames = new Map<string, Volume>();
  const seenIds = new Map<string, Volume>();
  for (const volume of table.volumes) {
    const where = `line ${volume.line}: volume ${quoted(volume.name)}`;
    const nameProblem = lvNameProblem(volume.name);
    if (nameProblem !== undefined) throw tableError(table, `${where}: LV name ${nameProblem}`);
    const idProblem = lvmIdProblem(volume.uuid);
    if (idProblem !== undefined) throw tableError(table, `${where}: uuid ${quoted(volume.uuid)}: ${idProblem}`);
    // Checked here too: these options need not come from volumes-csv.ts (which refuses the same).
    if (volume.start + volume.size > MAX_LVM_END_EXTENT) {
      throw tableError(table, MESSAGES.exceedsLimit(`${where}: ends at extent ${volume.start + volume.size}`, LVM_LIMIT_RULE));
    }
    const sameName = seenNames.get(volume.name);
    if (sameName !== undefined) throw tableError(table, `${where}: name already used on line ${sameName.line}`);
    const sameId = seenIds.get(volume.uuid);
    if (sameId !== undefined) throw tableError(table, `${where}: uuid ${quoted(volume.uuid)} already used on line ${sameId.line}`);
    seenNames.set(volume.name, volume);
    seenIds.set(volume.uuid, volume);
  }
  const byStart = [...table.volumes].sort((a, b) => a.start - b.start);
  for (let i = 1; i < byStart.length; i++) {
    const previous = byStart[i - 1]!;
    const current = byStart[i]!;
    if (previous.start + previous.size > current.start) {
      throw tableError(
        table,
        `line ${current.line}: volume "${current.name}" (extents ${current.start}-${current.start + current.size - 1}) overlaps volume "${previous.name}" (extents ${previous.start}-${previous.start + previous.size - 1})`,
      );
    }
  }
}

/** Checks everything that needs no file: names, ids, the table, and that every image names a volume. */
export function checkLvmOptions(options: LvmOptions): void {
  checkValue('lvm: VG name', options.vgName, vgNameProblem);
  checkValue('lvm: VG uuid', options.vgUuid, lvmIdProblem);
  checkValue('lvm: PV uuid', options.pvUuid, lvmIdProblem);
  // lvm2 finds PVs, VGs and LVs by id: one id for two of them makes the metadata ambiguous.
  if (options.pvUuid === options.vgUuid) throw new UserError(`lvm: PV uuid (--pv-uuid) ${quoted(options.pvUuid)}: the same id as the VG uuid (--vg-uuid): ids must be unique`);
  const table = options.volumes;
  checkTable(table);
  for (const volume of table.volumes) {
    const owner = volume.uuid === options.vgUuid ? 'VG uuid (--vg-uuid)' : volume.uuid === options.pvUuid ? 'PV uuid (--pv-uuid)' : undefined;
    if (owner !== undefined) throw tableError(table, `line ${volume.line}: volume ${quoted(volume.name)}: uuid ${quoted(volume.uuid)} is also the ${owner}: ids must be unique`);
  }
  const names = new Set(table.volumes.map((v) => v.name));
  for (const [name, imagePath] of Object.entries(options.images)) {
    if (!names.has(name)) {
      const listed = table.volumes.map((v) => v.name).join(', ');
      throw tableError(table, `image "${imagePath}" is given for volume "${name}", which is not in the table (volumes: ${listed})`);
    }
  }
}

/** The pure part of planning: checks the options and image sizes, and lays out the bytes. */
export function layoutLvm(options: LvmOptions, imageSizes: ReadonlyMap<string, number>): LvmPlan {
  checkLvmOptions(options);
  const table = options.volumes;
  const fills: LvmFill[] = [];
  for (const volume of table.volumes) {
    const imagePath = options.images[volume.name];
    if (imagePath === undefined) continue;
    const imageSize = imageSizes.get(volume.name);
    if (imageSize === undefined) throw new Error(`internal: no size known for the image of volume "${volume.name}"`);
    const capacity = volume.size * EXTENT_SIZE;
    if (imageSize > capacity) {
      throw tableError(
        table,
        `image "${imagePath}" is ${describeSize(imageSize)}, larger than volume "${volume.name}" of ${describeSize(capacity)}`,
      );
    }
    fills.push({ volume: volume.name, imagePath, imageSize, offset: DATA_AREA_OFFSET + volume.start * EXTENT_SIZE });
  }
  const peCount = table.volumes.reduce((end, v) => Math.max(end, v.start + v.size), 0);
  const imageSize = DATA_AREA_OFFSET + peCount * EXTENT_SIZE;
  const text = renderMetadataText({
    vgName: options.vgName,
    vgUuid: options.vgUuid,
    pvUuid: options.pvUuid,
    deviceHint: options.deviceHint,
    devSizeSectors: imageSize / SECTOR_SIZE,
    peStartSectors: DATA_AREA_OFFSET / SECTOR_SIZE,
    extentSizeSectors: EXTENT_SIZE / SECTOR_SIZE,
    peCount,
    creationTime: options.creationTime,
    creationHost: options.creationHost,
    description: 'Created by icos lvm',
    volumes: table.volumes.map((v) => ({ name: v.name, uuid: v.uuid, startExtent: v.start, extentCount: v.size })),
  });
  const metadataArea = metadataAreaStart(text);
  if (metadataArea.length > METADATA_AREA_SIZE) {
    throw tableError(table, `the LVM metadata text is ${describeSize(metadataArea.length)}, more than the metadata area of ${describeSize(METADATA_AREA_SIZE)}`);
  }
  const label = labelSector({ pvIdChars: lvmIdBytes(options.pvUuid), deviceSize: imageSize });
  return { imageSize, label, metadataArea, fills };
}

async function imageSizeOf(table: VolumeTable, name: string, imagePath: string): Promise<number> {
  try {
    const info = await stat(imagePath);
    if (!info.isFile()) throw tableError(table, MESSAGES.notRegularFile(`image "${imagePath}" for volume "${name}"`, describeFileType(info)));
    return info.size;
  } catch (error) {
    if (error instanceof UserError) throw error;
    const reason = fromSystemError(error)?.message.replace(/^".*?": /, '') ?? String(error);
    throw tableError(table, `image "${imagePath}" for volume "${name}": ${reason}`);
  }
}

/** The `lvm` artifact kind. */
export const lvmKind: ArtifactKind<LvmOptions, LvmPlan> = {
  name: 'lvm',
  options: optionsSchema,
  async plan(options) {
    // Input mistakes are reported before any image file is looked at.
    checkLvmOptions(options);
    const sizes = new Map<string, number>();
    for (const [name, imagePath] of Object.entries(options.images)) {
      sizes.set(name, await imageSizeOf(options.volumes, name, imagePath));
    }
    return layoutLvm(options, sizes);
  },
  // Each LV's frames in its own archive line up with the PV's windows from the LV's start.
  async packOrigins(options) {
    return [0, ...options.volumes.volumes.map((volume) => DATA_AREA_OFFSET + volume.start * EXTENT_SIZE)];
  },
  async build(plan, outPath, deps: BuildDeps) {
    const out = await open(outPath, 'w', 0o644);
    try {
      await out.truncate(plan.imageSize);
      await out.write(plan.label, 0, plan.label.length, LABEL_SECTOR * SECTOR);
      await out.write(plan.metadataArea, 0, plan.metadataArea.length, METADATA_AREA_OFFSET);
      for (const fill of plan.fills) {
        deps.log.verbose(`lvm: copying "${fill.imagePath}" into volume "${fill.volume}" at byte ${fill.offset}`);
        await copyDataInto(out, fill.offset, fill.imagePath, fill.imageSize);
      }
      // The mode is fixed so the output does not depend on the umask.
      await out.chmod(0o644);
    } finally {
      await out.close();
    }
  },
};
