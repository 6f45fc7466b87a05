import { open, stat, truncate } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from '../definitions.ts';
import { UserError } from '../errors.ts';
import { describeFileType } from '../lib/input-file.ts';
import { MESSAGES } from '../messages.ts';

/** What a disk file holds, from its first bytes: an icos archive is unpacked before booting. */
export type DiskFormat = 'raw' | 'qcow2' | 'archive';

const QCOW2_MAGIC = Buffer.from('QFI\xfb', 'latin1');
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const SECTOR = 512;

/**
 * The format of a disk given as `flag`: a UserError when it is missing, unreadable or not a
 * disk (a raw disk is a whole number of sectors; block devices are taken as raw).
 */
export async function diskFormatOf(file: string, flag: string): Promise<DiskFormat> {
  let magic: Buffer;
  let info;
  try {
    info = await stat(file);
    if (!info.isFile() && !info.isBlockDevice()) throw new UserError(MESSAGES.notRegularFile(`${flag} "${file}"`, describeFileType(info)));
    const handle = await open(file, 'r');
    try {
      magic = Buffer.alloc(4);
      await handle.read(magic, 0, 4, 0);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw error instanceof UserError ? error : new UserError(MESSAGES.cannotRead(`${flag} "${file}"`, error));
  }
  if (magic.equals(QCOW2_MAGIC)) return 'qcow2';
  if (magic.equals(ZSTD_MAGIC)) return 'archive';
  if (info.isFile() && (info.size === 0 || info.size % SECTOR !== 0)) {
    throw new UserError(
      `${flag} "${file}": not a disk image: ${info.size} bytes is not a whole number of ${SECTOR}-byte sectors, ` +
        'and it is neither qcow2 nor zstd (expected a raw disk, a qcow2 or a disk-img.tar.zst)',
    );
  }
  return 'raw';
}

/** A partition's place on the disk, in bytes. */
export interface PartitionExtent {
  number: number;
  offset: number;
  size: number;
}

interface SfdiskJson {
  partitiontable: { sectorsize?: number; partitions?: { start: number; size: number }[] };
}

/** The partitions of a raw disk (none when it has no partition table). */
async function partitionsOf(disk: string, runner: CommandRunner): Promise<PartitionExtent[]> {
  const result = await runner.run('sfdisk', ['--json', disk], { artifact: `partitions(${disk})`, okExitCodes: [1] });
  if (result.exitCode === 1) {
    if (/does not contain a recognized partition table/.test(result.stderr)) return [];
    throw new UserError(`partitions(${disk}): sfdisk --json failed: ${result.stderr.trim()}`);
  }
  const table = (JSON.parse(result.stdout) as SfdiskJson).partitiontable;
  const sector = table.sectorsize ?? SECTOR;
  return (table.partitions ?? []).map((p, i) => ({ number: i + 1, offset: p.start * sector, size: p.size * sector }));
}

/** blkid's low-level probe of `size` bytes at `offset`: TYPE, LABEL, ... (empty when nothing, or nothing certain, is recognised). */
async function probeFilesystem(file: string, offset: number, size: number, runner: CommandRunner): Promise<Record<string, string>> {
  const args = ['-p', '-O', String(offset), '-S', String(size), '-o', 'export', file];
  const result = await runner.run('blkid', args, { artifact: `probe(${file}@${offset})`, okExitCodes: [2, 8] });
  return Object.fromEntries(result.stdout.split('\n').filter((line) => line.includes('=')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

/** Enough of a partition for blkid to read a superblock or FAT boot sector. */
const PROBE_BYTES = 1024 * 1024;

/** Copies `length` bytes at `offset` of a qcow2's virtual disk into a raw file (a view through QEMU's raw driver). */
async function qcow2Slice(disk: string, offset: number, length: number, out: string, runner: CommandRunner): Promise<void> {
  const view = `driver=raw,offset=${offset},size=${length},file.driver=qcow2,file.file.driver=file,file.file.filename=${disk.replaceAll(',', ',,')}`;
  await runner.run('qemu-img', ['convert', '-O', 'raw', '--image-opts', view, out], { artifact: `probe(${disk})` });
}

/** A qcow2's partitions and a way to probe each: its table and partition starts copied into `scratch`. */
async function qcow2Partitions(disk: string, scratch: string, runner: CommandRunner): Promise<{ partitions: PartitionExtent[]; probe: (p: PartitionExtent) => Promise<Record<string, string>> }> {
  const info = await runner.run('qemu-img', ['info', '--output=json', disk], { artifact: `probe(${disk})` });
  const virtualSize = (JSON.parse(info.stdout) as { 'virtual-size': number })['virtual-size'];
  const head = path.join(scratch, 'probe-head.img');
  await qcow2Slice(disk, 0, Math.min(PROBE_BYTES, virtualSize), head, runner);
  // A sparse file of the disk's size: sfdisk checks the table against the disk's end.
  await truncate(head, virtualSize);
  return {
    partitions: await partitionsOf(head, runner),
    probe: async (p) => {
      const slice = path.join(scratch, `probe-${p.number}.img`);
      const length = Math.min(PROBE_BYTES, p.size);
      await qcow2Slice(disk, p.offset, length, slice, runner);
      return probeFilesystem(slice, 0, length, runner);
    },
  };
}

/** The FAT partition labelled CONFIG (SetupOS-style installers carry one for operators), if the disk has one. */
export async function findConfigPartition(disk: string, format: 'raw' | 'qcow2', scratch: string, runner: CommandRunner): Promise<PartitionExtent | undefined> {
  const { partitions, probe } =
    format === 'qcow2'
      ? await qcow2Partitions(disk, scratch, runner)
      : { partitions: await partitionsOf(disk, runner), probe: (p: PartitionExtent) => probeFilesystem(disk, p.offset, p.size, runner) };
  for (const partition of partitions) {
    const found = await probe(partition);
    if (found.TYPE === 'vfat' && found.LABEL === 'CONFIG') return partition;
  }
  return undefined;
}
