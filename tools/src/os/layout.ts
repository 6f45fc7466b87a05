import { access } from 'node:fs/promises';
import path from 'node:path';
import { type Problem, throwIfProblems, UserError } from '../errors.ts';
import { isLvmId } from '../inputs/ids.ts';
import { IMAGE_LIMIT_RULE, MAX_IMAGE_BYTES } from '../inputs/limits.ts';
import { readPartitionTable, tableEndSector } from '../inputs/partitions-csv.ts';
import { EXTENT_SIZE, type PartitionTable, SECTOR_SIZE, type VolumeTable } from '../inputs/tables.ts';
import { LVM_HEADER_BYTES, readVolumeTable } from '../inputs/volumes-csv.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { parseSize } from '../lib/size.ts';
import { MESSAGES, quoted } from '../messages.ts';
import { descriptionPath, type Fill, type LeafFill, type OsDescription, readDescription } from './description.ts';

/**
 * An OS description resolved against its tables (pure once the files are read): every partition
 * and volume with its size in bytes and its fill, the sizes and offsets derived from the tables,
 * and the layout facts the running system needs. All problems are collected and reported together.
 * Byte counts are decimal strings: Starlark reads this JSON too, and its ints need not be 64-bit.
 */

export type ResolvedLeaf = LeafFill & { name: string; size: string };
export interface ResolvedLvm {
  kind: 'lvm';
  name: string;
  size: string;
  volumeTable: string;
  /** The Bazel label of volumeTable. */
  volumeTableLabel: string;
  vgName: string;
  vgUuid: string;
  pvUuid: string;
  volumes: ResolvedLeaf[];
}
export type ResolvedFill = ResolvedLeaf | ResolvedLvm;

export interface ResolvedLayout {
  os: string;
  description: string;
  partitionTable: string;
  /** The Bazel label of partitionTable (its package is the nearest folder with a BUILD file). */
  partitionTableLabel: string;
  /** The expanded disk in bytes, when the description asks for one. */
  diskSize?: string;
  versionPath: string;
  /** Where the root carries the upgrade key, when the OS takes upgrades. */
  upgradeKeyPath?: string;
  root: { slot: string; fsSize: string; stripPaths: string[]; verity?: { salt: string; uuid: string; hashOffset: string } };
  boot: { slot: string; fsSize: string; bootArgsTemplate?: string; grubSigned?: string[] };
  /** The signed GRUB loader's inputs, when the OS has one. */
  bootloader?: { grubModules: string; grubEarlyConfig: string };
  /** In table order. */
  partitions: ResolvedFill[];
  /** `layout.<key>` placeholders of component files and templates -> value (layout-facts.ts). */
  facts: Record<string, string>;
}

interface Slot {
  name: string;
  bytes: number;
  where: string;
}

/** Checks a label names an existing source file when it is one (`//:path`, no `{env}`). */
async function checkSourceLabel(label: string, where: string, root: string, problems: Problem[]): Promise<void> {
  if (!label.startsWith('//:') || label.includes('{env}')) return;
  const file = label.slice(3);
  await access(path.join(root, file)).catch(() => problems.push({ file: where, message: `${label}: no such file ${file}` }));
}

function leafFileLabels(fill: LeafFill): string[] {
  return 'files' in fill && fill.files !== undefined ? Object.keys(fill.files) : [];
}

/**
 * Resolves `envs/<os>/os.json` of the checkout at `root` against its tables; `where` names another
 * description file (relative to `root`) resolved under the name `os` (test/build-example).
 */
export async function resolveLayout(os: string, root = REPO_ROOT, where = descriptionPath(os)): Promise<ResolvedLayout> {
  const description = await readDescription(where, root);
  const table = await readPartitionTable(path.join(root, description.partitionTable));
  const volumeTables = new Map<string, VolumeTable>();
  for (const [name, fill] of Object.entries(description.fill)) {
    if (fill.kind !== 'lvm') continue;
    const partition = table.partitions.find((p) => p.name === name);
    volumeTables.set(
      name,
      await readVolumeTable(path.join(root, fill.volumeTable), partition === undefined ? {} : { pvSize: partition.size * SECTOR_SIZE, pvName: name }),
    );
  }
  const problems: Problem[] = [];
  const labels = new Map<string, string>();
  for (const file of [description.partitionTable, ...Object.values(description.fill).flatMap((f) => (f.kind === 'lvm' ? [f.volumeTable] : []))]) {
    labels.set(file, await sourceLabel(file, root));
  }
  const layout = planLayout(os, where, description, table, volumeTables, labels, problems);
  const bootloaderLabels = description.bootloader === undefined ? [] : [description.bootloader.grubModules, description.bootloader.grubEarlyConfig];
  for (const label of [description.boot.bootArgsTemplate, ...bootloaderLabels, ...allLeaves(description).flatMap(leafFileLabels)]) {
    if (label !== undefined) await checkSourceLabel(label, where, root, problems);
  }
  throwIfProblems(problems);
  return layout;
}

/** A signed loader or signed files need the `bootloader` section that makes the loader. */
function checkSigningReferences(description: OsDescription, where: string, problems: Problem[]): void {
  if (description.bootloader !== undefined) return;
  const users = [
    ...(description.boot.grubSigned === undefined ? [] : ['boot.grubSigned']),
    ...Object.entries(description.fill).flatMap(([name, fill]) => fillSigningFields(fill).map((field) => `fill.${name}.${field}`)),
  ];
  for (const user of users) problems.push({ file: where, message: `${user}: needs the "bootloader" section (the signed GRUB loader that checks these signatures)` });
}

function fillSigningFields(fill: Fill | LeafFill): string[] {
  if (fill.kind === 'lvm') return Object.entries(fill.fill).flatMap(([name, leaf]) => fillSigningFields(leaf).map((field) => `fill.${name}.${field}`));
  return [...('grubSigned' in fill && fill.grubSigned !== undefined ? ['grubSigned'] : []), ...('loader' in fill && fill.loader !== undefined ? ['loader'] : [])];
}

/** The Bazel label of a source file: its package is the nearest folder holding a BUILD file. */
async function sourceLabel(file: string, root: string): Promise<string> {
  const parts = file.split('/');
  for (let depth = parts.length - 1; depth > 0; depth--) {
    const dir = parts.slice(0, depth).join('/');
    for (const build of ['BUILD.bazel', 'BUILD']) {
      if (await access(path.join(root, dir, build)).then(() => true, () => false)) return `//${dir}:${parts.slice(depth).join('/')}`;
    }
  }
  return `//:${file}`;
}

function allLeaves(description: OsDescription): LeafFill[] {
  return Object.values(description.fill).flatMap((fill) => (fill.kind === 'lvm' ? Object.values(fill.fill) : [fill]));
}

/** Every name of `table` has a fill and every fill names a row; problems name the description. */
function matchNames(names: readonly string[], fills: Record<string, unknown>, where: string, what: string, problems: Problem[]): void {
  for (const name of names) {
    if (!(name in fills)) problems.push({ file: where, message: `${what} ${quoted(name)} has no fill: say what fills it ("empty" for nothing)` });
  }
  for (const name of Object.keys(fills)) {
    if (!names.includes(name)) problems.push({ file: where, message: `fill ${quoted(name)}: no ${what} of that name in the table (${names.join(', ')})` });
  }
}

/** The pure part of resolveLayout: sizes, offsets, references and facts from the parsed inputs. */
export function planLayout(
  os: string,
  where: string,
  description: OsDescription,
  table: PartitionTable,
  volumeTables: ReadonlyMap<string, VolumeTable>,
  labels: ReadonlyMap<string, string>,
  problems: Problem[],
): ResolvedLayout {
  const slots: Slot[] = [];
  const facts: Record<string, string> = {
    // The OS the image is of: what its upgrade tool accepts in an upgrade image's manifest.
    'os.name': os,
    // Where a partition made at first boot can start, and the number it gets (GuestOS's store).
    'disk.endSector': String(tableEndSector(table)),
    'disk.nextPartitionNumber': String(table.partitions.length + 1),
  };
  // Where the upgrade tool finds the key an upgrade image's manifest must be signed with.
  if (description.upgradeKeyPath !== undefined) facts['upgrade.keyPath'] = description.upgradeKeyPath;
  matchNames(table.partitions.map((p) => p.name), description.fill, where, 'partition', problems);

  const partitions: ResolvedFill[] = [];
  table.partitions.forEach((partition, index) => {
    const key = `partitions.${partition.name}`;
    facts[`${key}.uuid`] = partition.uuid.toLowerCase();
    facts[`${key}.number`] = String(index + 1);
    facts[`${key}.start`] = String(partition.start);
    facts[`${key}.end`] = String(partition.start + partition.size);
    const fill = description.fill[partition.name];
    if (fill === undefined) return;
    const bytes = partition.size * SECTOR_SIZE;
    const slot = { name: partition.name, bytes, where: `fill.${partition.name}` };
    if (fill.kind !== 'lvm') {
      slots.push(slot);
      partitions.push({ ...fill, name: partition.name, size: String(bytes) });
      return;
    }
    // The PV's own name counts too: its image target is named after it like any fill's.
    slots.push(slot);
    const lvm = resolveLvm(fill, slot, volumeTables.get(partition.name)!, where, slots, facts, problems);
    partitions.push({ ...lvm, volumeTableLabel: labels.get(fill.volumeTable) ?? '' });
  });

  const seen = new Set<string>();
  for (const slot of slots) {
    if (seen.has(slot.name)) problems.push({ file: where, message: `${slot.where}: ${quoted(slot.name)} names both a partition and a volume: image targets are named after them` });
    seen.add(slot.name);
  }
  const leaves = [...partitions.flatMap((p) => (p.kind === 'lvm' ? p.volumes : [p]))];
  const slotOf = (kind: 'root' | 'boot'): Slot | undefined => {
    const named = leaves.filter((leaf) => leaf.kind === kind);
    if (named.length !== 1) {
      problems.push({ file: where, message: `${named.length} fills of kind ${quoted(kind)} (${named.map((l) => l.name).join(', ') || 'none'}): exactly one is the slot the image fills` });
      return undefined;
    }
    return slots.find((slot) => slot.name === named[0]!.name);
  };
  const rootSlot = slotOf('root');
  const bootSlot = slotOf('boot');
  const root = resolveRoot(description, rootSlot, where, facts, problems);
  const boot = {
    slot: bootSlot?.name ?? '',
    fsSize: String(fitSize(description.boot.fsSize, bootSlot, 'boot.fsSize', where, problems)),
    ...(description.boot.bootArgsTemplate === undefined ? {} : { bootArgsTemplate: description.boot.bootArgsTemplate }),
    ...(description.boot.grubSigned === undefined ? {} : { grubSigned: description.boot.grubSigned }),
  };
  checkSigningReferences(description, where, problems);
  if (description.boot.bootArgsTemplate !== undefined && description.root.verity === undefined) {
    problems.push({ file: where, message: 'boot.bootArgsTemplate: the template names ROOT_HASH, which needs root.verity' });
  }

  let diskSize: string | undefined;
  if (description.diskSize !== undefined) {
    const bytes = sizeOrProblem(description.diskSize, 'diskSize', where, problems);
    const needed = (tableEndSector(table) + 2048) * SECTOR_SIZE;
    if (bytes !== undefined && bytes < needed) {
      problems.push({ file: where, message: `diskSize ${quoted(description.diskSize)} is ${bytes} bytes: the table needs ${needed} (its last partition and the backup GPT)` });
    }
    if (bytes !== undefined && bytes % SECTOR_SIZE !== 0) {
      problems.push({ file: where, message: `diskSize ${quoted(description.diskSize)} is ${bytes} bytes: must be a multiple of ${SECTOR_SIZE} bytes (whole sectors)` });
    }
    if (bytes !== undefined && bytes > MAX_IMAGE_BYTES) problems.push({ file: where, message: MESSAGES.exceedsLimit(`diskSize ${quoted(description.diskSize)}`, IMAGE_LIMIT_RULE) });
    diskSize = bytes === undefined ? undefined : String(bytes);
  }
  return {
    os,
    description: where,
    partitionTable: description.partitionTable,
    partitionTableLabel: labels.get(description.partitionTable) ?? '',
    ...(diskSize === undefined ? {} : { diskSize }),
    versionPath: description.versionPath,
    ...(description.upgradeKeyPath === undefined ? {} : { upgradeKeyPath: description.upgradeKeyPath }),
    root,
    boot,
    ...(description.bootloader === undefined
      ? {}
      : { bootloader: { grubModules: description.bootloader.grubModules, grubEarlyConfig: description.bootloader.grubEarlyConfig } }),
    partitions,
    facts: Object.fromEntries(Object.entries(facts).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
}

function resolveLvm(
  fill: Extract<Fill, { kind: 'lvm' }>,
  slot: Slot,
  volumeTable: VolumeTable,
  where: string,
  slots: Slot[],
  facts: Record<string, string>,
  problems: Problem[],
): Omit<ResolvedLvm, 'volumeTableLabel'> {
  for (const [field, id] of [['vgUuid', fill.vgUuid], ['pvUuid', fill.pvUuid]] as const) {
    if (!isLvmId(id)) problems.push({ file: where, message: `${slot.where}.${field} ${quoted(id)}: expected an LVM id (6-4-4-4-4-4-6 characters)` });
  }
  matchNames(volumeTable.volumes.map((v) => v.name), fill.fill, where, `volume of ${fill.volumeTable}`, problems);
  facts['vg.name'] = fill.vgName;
  facts['vg.uuid'] = fill.vgUuid;
  const volumes: ResolvedLeaf[] = [];
  for (const volume of volumeTable.volumes) {
    const key = `volumes.${volume.name}`;
    facts[`${key}.uuid`] = volume.uuid;
    facts[`${key}.start`] = String(volume.start);
    facts[`${key}.end`] = String(volume.start + volume.size);
    // Where the volume's data starts inside the partition: the PV data area is 1 MiB in.
    facts[`${key}.offset`] = String(LVM_HEADER_BYTES + volume.start * EXTENT_SIZE);
    const leaf = fill.fill[volume.name];
    if (leaf === undefined) continue;
    const bytes = volume.size * EXTENT_SIZE;
    slots.push({ name: volume.name, bytes, where: `${slot.where}.fill.${volume.name}` });
    volumes.push({ ...leaf, name: volume.name, size: String(bytes) });
  }
  return { kind: 'lvm', name: slot.name, size: String(slot.bytes), volumeTable: fill.volumeTable, vgName: fill.vgName, vgUuid: fill.vgUuid, pvUuid: fill.pvUuid, volumes };
}

function resolveRoot(description: OsDescription, slot: Slot | undefined, where: string, facts: Record<string, string>, problems: Problem[]): ResolvedLayout['root'] {
  const fsSize = fitSize(description.root.fsSize, slot, 'root.fsSize', where, problems);
  const root: ResolvedLayout['root'] = { slot: slot?.name ?? '', fsSize: String(fsSize), stripPaths: description.root.stripPaths };
  const verity = description.root.verity;
  if (verity === undefined || slot === undefined) return root;
  const reserve = sizeOrProblem(verity.hashTreeReserve, 'root.verity.hashTreeReserve', where, problems) ?? 0;
  const hashOffset = slot.bytes - reserve;
  if (hashOffset < fsSize || hashOffset % 4096 !== 0) {
    problems.push({
      file: where,
      message: `root.verity.hashTreeReserve ${quoted(verity.hashTreeReserve)}: the hash tree would start at byte ${hashOffset} of ${quoted(slot.name)} (${slot.bytes} bytes), which must be a multiple of 4096 at or after the root filesystem's end (${fsSize})`,
    });
  }
  facts['root.verity.hashOffset'] = String(hashOffset);
  return { ...root, verity: { salt: verity.salt, uuid: verity.uuid, hashOffset: String(hashOffset) } };
}

function sizeOrProblem(text: string, field: string, where: string, problems: Problem[]): number | undefined {
  try {
    return parseSize(text, `${where}: ${field}`);
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    problems.push({ file: where, message: error.message.slice(where.length + 2) });
    return undefined;
  }
}

/** A filesystem's size: `text` when given (at most the slot), else the whole slot. */
function fitSize(text: string | undefined, slot: Slot | undefined, field: string, where: string, problems: Problem[]): number {
  if (slot === undefined) return 0;
  if (text === undefined) return slot.bytes;
  const bytes = sizeOrProblem(text, field, where, problems) ?? 0;
  if (bytes > slot.bytes) problems.push({ file: where, message: `${field} ${quoted(text)} is ${bytes} bytes, larger than ${quoted(slot.name)} (${slot.bytes} bytes)` });
  return bytes;
}
