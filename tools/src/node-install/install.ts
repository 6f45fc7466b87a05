import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { CommandRunner, Logger } from '../definitions.ts';
import { UserError } from '../errors.ts';
import { readRegularText } from '../lib/input-file.ts';
import { parseJsonFile } from '../ic-node/node-config.ts';
import { SECTOR_SIZE } from '../inputs/tables.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { backupRegionStart, readGptHeader } from './gpt-header.ts';
import { peekArchivedImage, writeArchivedImage } from './image-stream.ts';
import { parseLogicalVolumes, type VolumeExtents } from './lvm-report.ts';
import { targetDiskBytes } from './target-disk.ts';

/**
 * `icos install-node`: writes a node onto a blank disk, the disk part of IC-OS's SetupOS
 * (install-hostos, install-guestos, setup-hostos-config) in one order that never leaves a
 * half-installed disk that boots:
 *   1. the target's partition tables (both ends) are zeroed: from here on it does not boot;
 *   2. the HostOS image is streamed on (data blocks only), its partition table held back and
 *      its backup table (at the image's end, mid-disk on a larger target) dropped;
 *   3. the final table is made in a scratch file the target's size (sgdisk moves the backup
 *      to the disk end, sfdisk grows the LVM partition to it);
 *   4. through a loop device over that partition: the PV is resized and the guest volume
 *      grown (LVM metadata only; nothing is activated, so no device-mapper is needed);
 *   5. the GuestOS image is streamed into the guest volume's extents, and the config volume is
 *      made from the node's config tree (mke2fs -d);
 *   6. last, the table is written (backup, then primary) and checked with `sgdisk -v`.
 */

/** What the installer must know of the HostOS image's LVM layout (checked against its tables in a test). */
export const nodeLayoutSchema = z
  .object({
    $comment: z.string().optional(),
    /** GPT name of the partition holding the PV. */
    physicalVolumePartition: z.string().min(1),
    volumeGroup: z.string().min(1),
    /** The LV the GuestOS disk image goes into (grown to the rest of the disk). */
    guestVolume: z.string().min(1),
    /** The LV made from the node's config tree. */
    configVolume: z.string().min(1),
  })
  .strict();
export type NodeLayout = z.infer<typeof nodeLayoutSchema>;

export interface InstallRequest {
  target: string;
  nodeLayoutFile: string;
  hostosArchive: string;
  guestosArchive: string;
  configTree: string;
}

interface Deps {
  runner: CommandRunner;
  log: Logger;
}

/** The first MiB of the image: its protective MBR and primary table (partitions start at 1 MiB or later). */
const HEAD_BYTES = 1024 * 1024;
/** LVM partitions end on a 1 MiB boundary, as the tables' own partitions do. */
const ALIGNMENT_SECTORS = 2048;

/** The plan's facts, all known before the target is touched. */
export interface InstallPlan extends InstallRequest {
  layout: NodeLayout;
  targetBytes: number;
  hostosBytes: number;
  guestosBytes: number;
}

/** Reads and checks everything; writes nothing. */
export async function planInstall(request: InstallRequest, runner: CommandRunner): Promise<InstallPlan> {
  const layoutText = await readRegularText(request.nodeLayoutFile, `--node-layout "${request.nodeLayoutFile}"`);
  const layout = parseJsonFile(layoutText, request.nodeLayoutFile, nodeLayoutSchema);
  if (!(await stat(request.configTree).catch(() => undefined))?.isDirectory()) throw new UserError(`--config-tree "${request.configTree}": not a directory`);
  const targetBytes = await targetDiskBytes(request.target, runner);
  const hostos = await peekArchivedImage(request.hostosArchive, '--host-archive', runner);
  const guestos = await peekArchivedImage(request.guestosArchive, '--guest-archive', runner);
  if (hostos.realSize + HEAD_BYTES > targetBytes) {
    throw new UserError(`--target "${request.target}": ${targetBytes} bytes, too small for the HostOS image of ${request.hostosArchive} (${hostos.realSize} bytes)`);
  }
  return { ...request, layout, targetBytes, hostosBytes: hostos.realSize, guestosBytes: guestos.realSize };
}

async function writeZeros(target: FileHandle, offset: number, length: number): Promise<void> {
  await target.write(Buffer.alloc(length), 0, length, offset);
}

interface PartitionJson {
  node: string;
  start: number;
  size: number;
  name?: string;
}

async function readPartitions(disk: string, runner: CommandRunner): Promise<{ lastLba: number; partitions: PartitionJson[] }> {
  const json = JSON.parse((await runner.run('sfdisk', ['--json', disk], { artifact: disk })).stdout) as {
    partitiontable: { lastlba: number; partitions: PartitionJson[] };
  };
  return { lastLba: json.partitiontable.lastlba, partitions: json.partitiontable.partitions };
}

/** Step 3: the final table in a scratch file; returns the LVM partition's number, start and size (sectors). */
async function makeFinalTable(plan: InstallPlan, head: Buffer, tableFile: string, deps: Deps): Promise<{ number: number; start: number; size: number }> {
  const file = await open(tableFile, 'wx');
  try {
    await file.truncate(plan.targetBytes);
    await file.write(head, 0, head.length, 0);
  } finally {
    await file.close();
  }
  await deps.runner.run('sgdisk', ['--move-second-header', tableFile], { artifact: 'install(partition table)' });
  const before = await readPartitions(tableFile, deps.runner);
  const index = before.partitions.findIndex((p) => p.name === plan.layout.physicalVolumePartition);
  if (index === -1) {
    throw new UserError(`${plan.hostosArchive}: its disk has no partition named "${plan.layout.physicalVolumePartition}" (${plan.nodeLayoutFile}: physicalVolumePartition)`);
  }
  const partition = before.partitions[index]!;
  if (index !== before.partitions.length - 1) throw new UserError(`${plan.hostosArchive}: "${partition.name}" is not the last partition, so it cannot grow to the disk end`);
  const size = Math.floor((before.lastLba + 1 - partition.start) / ALIGNMENT_SECTORS) * ALIGNMENT_SECTORS;
  await deps.runner.run('sfdisk', ['--no-reread', '--no-tell-kernel', '--quiet', '-N', String(index + 1), tableFile], {
    input: `${partition.start},${size}\n`,
    artifact: 'install(partition table)',
  });
  const verify = await deps.runner.run('sgdisk', ['--verify', tableFile], { artifact: 'install(partition table)' });
  if (!verify.stdout.includes('No problems found')) throw new UserError(`install(partition table): sgdisk --verify found problems:\n${verify.stdout.trim()}`);
  return { number: index + 1, start: partition.start, size };
}

/** Runs `body` with a loop device over `length` bytes of the target at `offset`. */
async function withLoopDevice<T>(plan: InstallPlan, offset: number, length: number, deps: Deps, body: (device: string) => Promise<T>): Promise<T> {
  const { stdout } = await deps.runner.run('losetup', ['--find', '--show', '--offset', String(offset), '--sizelimit', String(length), plan.target], { artifact: 'install(loop device)' });
  const device = stdout.trim();
  try {
    return await body(device);
  } finally {
    await deps.runner.run('losetup', ['--detach', device], { artifact: 'install(loop device)' });
  }
}

/** Step 4: resizes the PV and grows the guest volume; returns where the volumes' extents are. */
async function growVolumes(plan: InstallPlan, pvOffset: number, pvBytes: number, deps: Deps): Promise<VolumeExtents> {
  const { volumeGroup, guestVolume } = plan.layout;
  return withLoopDevice(plan, pvOffset, pvBytes, deps, async (pv) => {
    // --devices: LVM looks at this loop device only (never at the installer's own disks).
    const lvm = (command: string, args: string[]) => deps.runner.run(command, ['--devices', pv, ...args], { artifact: `install(${volumeGroup})` });
    await lvm('pvresize', [pv]);
    await lvm('lvextend', ['--extents', '+100%FREE', `${volumeGroup}/${guestVolume}`]);
    const report = await lvm('lvs', ['--noheadings', '--separator', ',', '--units', 'b', '--nosuffix', '-o', 'lv_name,seg_start_pe,seg_pe_ranges,vg_extent_size', volumeGroup]);
    const peStart = await lvm('pvs', ['--noheadings', '--units', 'b', '--nosuffix', '-o', 'pe_start', pv]);
    return parseLogicalVolumes(report.stdout, Number(peStart.stdout.trim()), `lvs ${volumeGroup}`);
  });
}

/** Copies bytes [start, end) of the table file to the target. */
async function copyRange(from: FileHandle, to: FileHandle, start: number, end: number): Promise<void> {
  const bytes = Buffer.alloc(end - start);
  await from.read(bytes, 0, bytes.length, start);
  await to.write(bytes, 0, bytes.length, start);
}

/** Steps 1-6 (see the top of this file). */
export async function installNode(plan: InstallPlan, deps: Deps): Promise<void> {
  const { log, runner } = deps;
  const started = Date.now();
  const seconds = () => `${Math.round((Date.now() - started) / 1000)} s`;
  const target = await open(plan.target, 'r+');
  try {
    await writeZeros(target, 0, HEAD_BYTES);
    await writeZeros(target, plan.targetBytes - HEAD_BYTES, HEAD_BYTES);
    await target.sync();
    log.info(`install: ${plan.target}: partition tables cleared (${plan.targetBytes} bytes)`);

    const hostos = await writeArchivedImage(
      {
        archive: plan.hostosArchive,
        target,
        targetOffset: 0,
        limit: plan.targetBytes,
        holdHead: HEAD_BYTES,
        dropFrom: (head) => {
          const primary = readGptHeader(head);
          if (typeof primary === 'string') throw new UserError(`${plan.hostosArchive}: ${primary}`);
          return backupRegionStart(primary);
        },
      },
      runner,
    );
    log.info(`install: HostOS written (${hostos.writtenBytes} of ${hostos.realSize} bytes are data, ${seconds()})`);

    await withScratchDir('install', async (scratch) => {
      const tableFile = path.join(scratch, 'partition-table.img');
      const pv = await makeFinalTable(plan, hostos.head, tableFile, deps);
      const pvOffset = pv.start * SECTOR_SIZE;
      const volumes = await growVolumes(plan, pvOffset, pv.size * SECTOR_SIZE, deps);
      const guest = volumes.first(plan.layout.guestVolume);
      log.info(`install: partition ${pv.number} grown to ${pv.size * SECTOR_SIZE} bytes; ${plan.layout.volumeGroup}/${plan.layout.guestVolume} now ${volumes.total(plan.layout.guestVolume)} bytes`);

      const guestos = await writeArchivedImage({ archive: plan.guestosArchive, target, targetOffset: pvOffset + guest.offset, limit: guest.length }, runner);
      log.info(`install: GuestOS written into ${plan.layout.guestVolume} (${guestos.writtenBytes} of ${guestos.realSize} bytes are data, ${seconds()})`);

      const config = volumes.first(plan.layout.configVolume);
      await target.sync();
      await withLoopDevice(plan, pvOffset + config.offset, config.length, deps, (device) =>
        runner.run('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', plan.layout.configVolume, '-E', 'root_owner=0:0', '-d', plan.configTree, device], {
          artifact: `install(${plan.layout.configVolume})`,
        }),
      );
      log.info(`install: ${plan.layout.configVolume} volume made from ${plan.configTree}`);

      // Last: the backup table at the disk end, then the primary one; only now does it boot.
      const table = await open(tableFile, 'r');
      try {
        const head = Buffer.alloc(HEAD_BYTES);
        await table.read(head, 0, HEAD_BYTES, 0);
        const primary = readGptHeader(head);
        if (typeof primary === 'string') throw new UserError(`install(partition table): ${primary}`);
        await copyRange(table, target, backupRegionStart(primary), plan.targetBytes);
        await target.sync();
        await copyRange(table, target, 0, HEAD_BYTES);
        await target.sync();
      } finally {
        await table.close();
      }
    });
  } finally {
    await target.close();
  }
  // The kernel is not told of the new table (BLKRRPART fails while the loop devices just detached
  // still hold the disk): the installer powers off or reboots next, and sgdisk reads the disk.
  const verify = await runner.run('sgdisk', ['--verify', plan.target], { artifact: plan.target });
  if (!verify.stdout.includes('No problems found')) throw new UserError(`${plan.target}: sgdisk --verify found problems after the install:\n${verify.stdout.trim()}`);
  log.info(`install: ${plan.target}: partition table written and verified (${seconds()})`);
}
