/**
 * The on-disk layout of a dm-verity hash area as `veritysetup format` writes it (format 1,
 * sha256, 4 KiB data and hash blocks): a 512-byte superblock at the hash offset, padded to a
 * hash block, then the hash levels, topmost (one block) first and level 0 (digests of the data
 * blocks) last. Every hash block holds 128 digests and is zero-padded.
 */

/** Data and hash block size (veritysetup's default, also the ext4 and page size). */
export const VERITY_BLOCK_SIZE = 4096;
/** sha256 digest length. */
export const DIGEST_SIZE = 32;
/** Digests per hash block. */
export const DIGESTS_PER_BLOCK = VERITY_BLOCK_SIZE / DIGEST_SIZE;
/** Longest salt the superblock can hold. */
export const MAX_SALT_BYTES = 256;
const SUPERBLOCK_SIZE = 512;

/** Where each part of the hash area lives, in bytes from the start of the file. */
export interface VerityLayout {
  dataBlocks: number;
  hashOffset: number;
  /** Hash blocks per level, level 0 (over the data blocks) first; empty for a single data block. */
  levelBlocks: number[];
  /** Byte offset of each level, level 0 first (level 0 is written last, after the others). */
  levelOffsets: number[];
  /** Length of the file after formatting: the end of level 0, or of the superblock's block. */
  fileSize: number;
}

/**
 * Lays out the hash area for `dataBlocks` data blocks with the superblock at `hashOffset` (a
 * multiple of the block size). A level has ceil(n / 128) blocks for the n digests below it; levels
 * are added until one block remains, so a single data block needs none (its digest is the root).
 */
export function verityLayout(dataBlocks: number, hashOffset: number): VerityLayout {
  const levelBlocks: number[] = [];
  for (let count = dataBlocks; count > 1; ) {
    count = Math.ceil(count / DIGESTS_PER_BLOCK);
    levelBlocks.push(count);
  }
  const levelOffsets = new Array<number>(levelBlocks.length);
  let position = hashOffset + VERITY_BLOCK_SIZE;
  for (let level = levelBlocks.length - 1; level >= 0; level--) {
    levelOffsets[level] = position;
    position += levelBlocks[level]! * VERITY_BLOCK_SIZE;
  }
  return { dataBlocks, hashOffset, levelBlocks, levelOffsets, fileSize: position };
}

/** The 16 bytes of a textual UUID (8-4-4-4-12 hex digits). */
export function uuidBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

/** The 512-byte verity superblock (little-endian, see cryptsetup's `struct verity_sb`). */
export function veritySuperblock(options: { dataBlocks: number; salt: Buffer; uuid: string }): Buffer {
  const block = Buffer.alloc(SUPERBLOCK_SIZE);
  block.write('verity', 0, 'latin1'); // signature, NUL-padded to 8 bytes
  block.writeUInt32LE(1, 8); // superblock version
  block.writeUInt32LE(1, 12); // hash type 1: salt hashed before each block (type 0, Chrome OS, appends it)
  uuidBytes(options.uuid).copy(block, 16);
  block.write('sha256', 32, 'latin1'); // algorithm, NUL-padded to 32 bytes
  block.writeUInt32LE(VERITY_BLOCK_SIZE, 64); // data block size
  block.writeUInt32LE(VERITY_BLOCK_SIZE, 68); // hash block size
  block.writeBigUInt64LE(BigInt(options.dataBlocks), 72);
  block.writeUInt16LE(options.salt.length, 80);
  options.salt.copy(block, 88); // 6 bytes of padding after the salt size
  return block;
}
