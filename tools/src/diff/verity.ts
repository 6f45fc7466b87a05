import { VERITY_BLOCK_SIZE } from '../kinds/verity/verity-layout.ts';
import type { DiffContext } from './context.ts';
import { readRegion, subRegion, type Region } from './region.ts';

/**
 * dm-verity images as the verity kind writes them: data blocks from the start, then at the hash
 * offset a superblock (cryptsetup's `struct verity_sb`, see kinds/verity/verity-layout.ts) and the
 * hash tree. The superblock is compared field by field, the data as whatever it holds, and the
 * tree as bytes: it follows from data and salt, so it is only reported when they do not explain it.
 */

interface VeritySuperblock {
  version: number;
  hashType: number;
  uuid: string;
  algorithm: string;
  dataBlockSize: number;
  hashBlockSize: number;
  dataBlocks: number;
  salt: string;
}

function uuidText(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function parseSuperblock(block: Buffer): VeritySuperblock {
  const saltSize = Math.min(block.readUInt16LE(80), 256);
  return {
    version: block.readUInt32LE(8),
    hashType: block.readUInt32LE(12),
    uuid: uuidText(block.subarray(16, 32)),
    algorithm: block.toString('latin1', 32, 64).replace(/\0.*$/s, ''),
    dataBlockSize: block.readUInt32LE(64),
    hashBlockSize: block.readUInt32LE(68),
    dataBlocks: Number(block.readBigUInt64LE(72)),
    salt: saltSize === 0 ? '-' : block.toString('hex', 88, 88 + saltSize),
  };
}

const FIELDS: ReadonlyArray<[keyof VeritySuperblock, string]> = [
  ['version', 'version'],
  ['hashType', 'hash type'],
  ['uuid', 'uuid'],
  ['algorithm', 'hash algorithm'],
  ['dataBlockSize', 'data block size'],
  ['hashBlockSize', 'hash block size'],
  ['dataBlocks', 'data blocks'],
  ['salt', 'salt'],
];

export interface VerityImage {
  region: Region;
  hashOffset: number;
}

export async function compareVerity(context: DiffContext, place: string[], a: VerityImage, b: VerityImage): Promise<void> {
  const { report } = context;
  const [superA, superB] = [
    parseSuperblock(await readRegion(a.region, a.hashOffset, 512)),
    parseSuperblock(await readRegion(b.region, b.hashOffset, 512)),
  ];
  const before = report.differences.length;
  report.field(place, 'verity hash offset', a.hashOffset, b.hashOffset);
  for (const [key, what] of FIELDS) report.field(place, `verity ${what}`, superA[key], superB[key]);
  const superblockDiffers = report.differences.length > before;
  const dataA = subRegion(a.region, 0, superA.dataBlocks * superA.dataBlockSize);
  const dataB = subRegion(b.region, 0, superB.dataBlocks * superB.dataBlockSize);
  const beforeData = report.differences.length;
  await context.compareRegion(place, dataA, dataB);
  const dataDiffers = report.differences.length > beforeData;
  // Between the data and the hash offset: nothing should be there, so any byte is news.
  const gapA = subRegion(a.region, dataA.size, a.hashOffset - dataA.size);
  const gapB = subRegion(b.region, dataB.size, b.hashOffset - dataB.size);
  await context.compareBytes(place, gapA, gapB, { what: 'between data and verity hash area:' });
  if (superblockDiffers || dataDiffers) return;
  const treeA = subRegion(a.region, a.hashOffset + VERITY_BLOCK_SIZE, a.region.size);
  const treeB = subRegion(b.region, b.hashOffset + VERITY_BLOCK_SIZE, b.region.size);
  await context.compareBytes(place, treeA, treeB, { what: 'verity hash tree:' });
}
