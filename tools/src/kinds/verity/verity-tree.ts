import { createHash } from 'node:crypto';
import type { DataChunk } from '../../lib/sparse-map.ts';
import { DIGEST_SIZE, DIGESTS_PER_BLOCK, VERITY_BLOCK_SIZE } from './verity-layout.ts';

/**
 * The dm-verity hash tree, computed in time proportional to the data rather than the image: an
 * all-zero data block always has the same digest, so a hash block made only of that digest has a
 * fixed digest too, and so on up the tree. Each level therefore stores only the hash blocks that
 * differ from its "fill" pattern; the others are implied.
 */

/** One level of digests, stored sparsely. */
export interface DigestLevel {
  /** Number of digests in the level (one per block of the level below, or per data block). */
  count: number;
  /** The digest in every slot not set explicitly: that of an all-zero block (or fill block) below. */
  fill: Buffer;
  /** Materialized hash blocks by index: those holding another digest, and always the last one. */
  blocks: Map<number, Buffer>;
}

/** A finished tree: the levels written to disk (level 0 first) and the root hash. */
export interface VerityTree {
  levels: DigestLevel[];
  rootHash: Buffer;
}

/** sha256(salt || bytes): the digest of one block in verity hash format 1. */
export function saltedDigest(salt: Buffer, bytes: Buffer): Buffer {
  return createHash('sha256').update(salt).update(bytes).digest();
}

/** A full hash block of the level's fill digest: what every implied block of the level holds. */
export function fillBlock(level: DigestLevel): Buffer {
  const block = Buffer.allocUnsafe(VERITY_BLOCK_SIZE);
  for (let at = 0; at < VERITY_BLOCK_SIZE; at += DIGEST_SIZE) level.fill.copy(block, at);
  return block;
}

function materialize(level: DigestLevel, index: number): Buffer {
  let block = level.blocks.get(index);
  if (block === undefined) {
    // The last block of a level may be partial: its unused slots stay zero, as veritysetup pads them.
    block = Buffer.alloc(VERITY_BLOCK_SIZE);
    const slots = Math.min(DIGESTS_PER_BLOCK, level.count - index * DIGESTS_PER_BLOCK);
    for (let slot = 0; slot < slots; slot++) level.fill.copy(block, slot * DIGEST_SIZE);
    level.blocks.set(index, block);
  }
  return block;
}

function emptyLevel(count: number, fill: Buffer): DigestLevel {
  const level: DigestLevel = { count, fill, blocks: new Map() };
  // The last block is never the fill block (it is partial, or must be found by index when writing).
  materialize(level, Math.ceil(count / DIGESTS_PER_BLOCK) - 1);
  return level;
}

function setDigest(level: DigestLevel, index: number, digest: Buffer): void {
  const block = materialize(level, Math.floor(index / DIGESTS_PER_BLOCK));
  digest.copy(block, (index % DIGESTS_PER_BLOCK) * DIGEST_SIZE);
}

/** Level 0 of a tree over `dataBlocks` data blocks that are all zero until chunks are added. */
export function startVerityTree(dataBlocks: number, salt: Buffer): DigestLevel {
  return emptyLevel(dataBlocks, saltedDigest(salt, Buffer.alloc(VERITY_BLOCK_SIZE)));
}

/** Adds the digests of a run of whole data blocks (block-aligned offset) to level 0. */
export function addDataChunk(level0: DigestLevel, salt: Buffer, chunk: DataChunk): void {
  const { offset, bytes } = chunk;
  if (offset % VERITY_BLOCK_SIZE !== 0 || bytes.length % VERITY_BLOCK_SIZE !== 0) {
    throw new Error(`internal: data chunk at ${offset} of ${bytes.length} bytes is not block-aligned`);
  }
  const first = offset / VERITY_BLOCK_SIZE;
  if (first + bytes.length / VERITY_BLOCK_SIZE > level0.count) {
    throw new Error(`internal: data chunk at ${offset} lies past the ${level0.count} data blocks`);
  }
  for (let at = 0; at < bytes.length; at += VERITY_BLOCK_SIZE) {
    setDigest(level0, first + at / VERITY_BLOCK_SIZE, saltedDigest(salt, bytes.subarray(at, at + VERITY_BLOCK_SIZE)));
  }
}

function nextLevel(level: DigestLevel, salt: Buffer): DigestLevel {
  const next = emptyLevel(Math.ceil(level.count / DIGESTS_PER_BLOCK), saltedDigest(salt, fillBlock(level)));
  const indexes = [...level.blocks.keys()].sort((a, b) => a - b);
  for (const index of indexes) setDigest(next, index, saltedDigest(salt, level.blocks.get(index)!));
  return next;
}

/** Hashes the upper levels until one digest remains: the root hash. */
export function finishVerityTree(level0: DigestLevel, salt: Buffer): VerityTree {
  const levels = [level0];
  while (levels.at(-1)!.count > 1) levels.push(nextLevel(levels.at(-1)!, salt));
  const top = levels.pop()!;
  return { levels, rootHash: Buffer.from(top.blocks.get(0)!.subarray(0, DIGEST_SIZE)) };
}

/**
 * The whole tree of an image given as its non-zero chunks (every other block is zero), without
 * any I/O: for callers that already hold the data, or only need the root hash.
 */
export function verityTree(dataBlocks: number, salt: Buffer, chunks: Iterable<DataChunk>): VerityTree {
  const level0 = startVerityTree(dataBlocks, salt);
  for (const chunk of chunks) addDataChunk(level0, salt, chunk);
  return finishVerityTree(level0, salt);
}
