import { allocatedRegions } from '../lib/sparse-map.ts';
import { open } from 'node:fs/promises';
import { readRegion, type Region } from './region.ts';

/**
 * What a region holds, from its magic numbers: the layer that can read it. Anything else is
 * compared as bytes.
 */
type PlainKind = 'zstd' | 'tar' | 'gpt' | 'lvm' | 'fat' | 'ext4' | 'raw';

export type Format =
  | { kind: PlainKind }
  /** An ext4 (or other) data image with a dm-verity superblock and hash tree at `hashOffset`. */
  | { kind: 'verity'; hashOffset: number; data: 'ext4' | 'raw' };

const HEAD_BYTES = 4096;
const SECTOR = 512;
const EXT4_SUPERBLOCK = 1024;
export const VERITY_SIGNATURE = Buffer.from('verity\0\0', 'latin1');

/** The format a region's first bytes announce (no verity probe: see `detectFormat`). */
export function formatOfHead(head: Buffer): PlainKind {
  const text = (at: number, length: number) => head.toString('latin1', at, at + length);
  if (head.length >= 4 && (head.readUInt32LE(0) === 0xfd2fb528 || (head.readUInt32LE(0) & 0xfffffff0) === 0x184d2a50)) return 'zstd';
  if (text(257, 5) === 'ustar') return 'tar';
  if (text(SECTOR, 8) === 'EFI PART') return 'gpt';
  for (let sector = 0; sector < 4; sector++) {
    if (text(sector * SECTOR, 8) === 'LABELONE' && text(sector * SECTOR + 24, 8) === 'LVM2 001') return 'lvm';
  }
  if (head.length >= EXT4_SUPERBLOCK + 58 && head.readUInt16LE(EXT4_SUPERBLOCK + 56) === 0xef53) return 'ext4';
  if (head.length >= SECTOR && head[510] === 0x55 && head[511] === 0xaa && (text(54, 3) === 'FAT' || text(82, 5) === 'FAT32')) return 'fat';
  return 'raw';
}

/** Bytes of the ext4 filesystem whose superblock is in `head` (blocks count times block size). */
function ext4Size(head: Buffer): number {
  const sb = EXT4_SUPERBLOCK;
  const blockSize = 1024 << head.readUInt32LE(sb + 24);
  const is64bit = (head.readUInt32LE(sb + 0x60) & 0x80) !== 0;
  const blocks = head.readUInt32LE(sb + 4) + (is64bit ? head.readUInt32LE(sb + 0x150) * 2 ** 32 : 0);
  return blocks * blockSize;
}

/**
 * The first 4 KiB block at or after `from` that holds data, when it starts with the verity
 * signature: dm-verity keeps its superblock at the hash offset, after the data and a run of zeros.
 */
async function verityAfter(region: Region, from: number): Promise<number | undefined> {
  const file = await open(region.file, 'r');
  try {
    const { size } = await file.stat();
    const block = Buffer.alloc(HEAD_BYTES);
    const start = region.offset + Math.ceil(from / HEAD_BYTES) * HEAD_BYTES;
    const end = region.offset + region.size;
    for (const extent of allocatedRegions(file.fd, size)) {
      for (let at = Math.max(start, extent.offset); at < Math.min(end, extent.offset + extent.length); at += HEAD_BYTES) {
        await file.read(block, 0, HEAD_BYTES, at);
        if (block.every((byte) => byte === 0)) continue;
        return block.subarray(0, 8).equals(VERITY_SIGNATURE) ? at - region.offset : undefined;
      }
      if (extent.offset >= end) break;
    }
    return undefined;
  } finally {
    await file.close();
  }
}

/** The format of a region; `wholeFile` allows the archive formats, which only a file can be. */
export async function detectFormat(region: Region, wholeFile: boolean): Promise<Format> {
  const head = await readRegion(region, 0, HEAD_BYTES);
  const kind = formatOfHead(head);
  if ((kind === 'zstd' || kind === 'tar') && !wholeFile) return { kind: 'raw' };
  if (kind === 'ext4' || kind === 'raw') {
    const dataEnd = kind === 'ext4' ? ext4Size(head) : 0;
    if (kind === 'ext4' && dataEnd >= region.size) return { kind };
    const hashOffset = await verityAfter(region, dataEnd);
    if (hashOffset !== undefined && hashOffset > 0) return { kind: 'verity', hashOffset, data: kind };
  }
  return { kind };
}
