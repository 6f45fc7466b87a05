import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { openRegularFile, statRegularFile } from '../lib/input-file.ts';
import { describeSize, parseSize } from '../lib/size.ts';
import { readDataChunks } from '../lib/sparse-map.ts';
import type { ArtifactKind } from './kind.ts';
import { MAX_SALT_BYTES, VERITY_BLOCK_SIZE, verityLayout, veritySuperblock, type VerityLayout } from './verity/verity-layout.ts';
import { addDataChunk, fillBlock, finishVerityTree, startVerityTree, type DigestLevel } from './verity/verity-tree.ts';

/**
 * `verity`: an image followed, at the hash offset inside the same file, by a dm-verity superblock
 * and hash tree, byte for byte what `veritysetup format OUT OUT --hash-offset H --salt S --uuid U`
 * writes over a copy of the image (format 1, sha256, 4 KiB blocks). Holes of the image stay holes
 * and only its data blocks are hashed, so the time grows with the data, not the image size.
 */

const optionsSchema = z.object({
  /** The data image (for IC-OS the unsigned root ext4); its size must be a multiple of 4 KiB. */
  image: z.string().min(1),
  /** Byte offset of the superblock, at or after the end of the image (IC-OS: 10 GiB - 128 MiB). */
  hashOffset: z.union([z.number(), z.string()]),
  /**
   * Salt as 1 to 256 bytes of hex digits, or "-" for none (as veritysetup takes it). An empty
   * value is refused: it is what an unset variable gives, not a choice of no salt.
   */
  salt: z.string(),
  /** UUID recorded in the superblock. */
  uuid: z.string(),
}).strict();

export type VerityOptions = z.infer<typeof optionsSchema>;

/** Everything `build` needs: the image, the salt, the superblock and where the levels go. */
export interface VerityPlan {
  imagePath: string;
  imageSize: number;
  salt: Buffer;
  superblock: Buffer;
  layout: VerityLayout;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STAGING_BYTES = 4 * 1024 * 1024;

function parseSalt(text: string, where: string): Buffer {
  if (text === '-') return Buffer.alloc(0);
  if (text === '') throw new UserError(`${where}: --salt "": empty: expected 1 to ${MAX_SALT_BYTES} bytes of hex digits, or "-" for no salt`);
  if (!/^(?:[0-9a-f]{2})+$/i.test(text)) {
    throw new UserError(`${where}: --salt "${text}": expected an even number of hex digits, or "-" for no salt`);
  }
  const salt = Buffer.from(text, 'hex');
  if (salt.length > MAX_SALT_BYTES) {
    throw new UserError(`${where}: --salt is ${salt.length} bytes, longer than the ${MAX_SALT_BYTES} bytes the superblock holds`);
  }
  return salt;
}

function parseHashOffset(value: number | string, where: string): number {
  const offset = parseSize(String(value), `${where}: --hash-offset`);
  if (offset % VERITY_BLOCK_SIZE !== 0) {
    // veritysetup takes 512-byte multiples, but then rewrites the superblock's 4 KiB block in
    // place, which fails when the tree is empty: only block-aligned offsets behave the same always.
    throw new UserError(`${where}: --hash-offset ${offset}: must be a multiple of the ${VERITY_BLOCK_SIZE}-byte hash block size`);
  }
  return offset;
}

/** Checks the options that need no file: salt, UUID and hash offset. */
export function checkVerityOptions(options: VerityOptions): { salt: Buffer; hashOffset: number } {
  const where = `verity(${options.image})`;
  const salt = parseSalt(options.salt, where);
  if (!UUID_PATTERN.test(options.uuid)) {
    throw new UserError(`${where}: --uuid "${options.uuid}": expected a UUID of 8-4-4-4-12 hex digits`);
  }
  return { salt, hashOffset: parseHashOffset(options.hashOffset, where) };
}

/** The pure part of planning: checks every option against the image size and lays out the hash area. */
export function planVerity(options: VerityOptions, imageSize: number): VerityPlan {
  const where = `verity(${options.image})`;
  const { salt, hashOffset } = checkVerityOptions(options);
  if (imageSize === 0) {
    throw new UserError(`${where}: --image is empty: dm-verity needs at least one ${VERITY_BLOCK_SIZE}-byte data block`);
  }
  if (imageSize % VERITY_BLOCK_SIZE !== 0) {
    throw new UserError(`${where}: --image is ${imageSize} bytes, not a multiple of the ${VERITY_BLOCK_SIZE}-byte data block size`);
  }
  if (hashOffset < imageSize) {
    throw new UserError(
      `${where}: --hash-offset ${describeSize(hashOffset)} is below the image size ${describeSize(imageSize)}: the hash area would overlap the data`,
    );
  }
  const dataBlocks = imageSize / VERITY_BLOCK_SIZE;
  return {
    imagePath: options.image,
    imageSize,
    salt,
    superblock: veritySuperblock({ dataBlocks, salt, uuid: options.uuid }),
    layout: verityLayout(dataBlocks, hashOffset),
  };
}

async function imageSizeOf(imagePath: string): Promise<number> {
  return (await statRegularFile(imagePath, `verity: --image "${imagePath}"`)).size;
}

/**
 * Refuses an output that is the image itself (same path, a link to it, or another name of the
 * same inode): writing the output would truncate the data being hashed.
 */
export async function checkOutputIsNotImage(outPath: string, imagePath: string, outFlag = '--out'): Promise<void> {
  const refuse = () => new UserError(`verity: ${outFlag} "${outPath}": is the --image "${imagePath}" itself: write the output to another file`);
  if (path.resolve(outPath) === path.resolve(imagePath)) throw refuse();
  const [out, image] = await Promise.all([stat(outPath).catch(() => undefined), stat(imagePath).catch(() => undefined)]);
  if (out !== undefined && image !== undefined && out.dev === image.dev && out.ino === image.ino) throw refuse();
}

/** Writes the hash levels; implied blocks are copies of the level's fill block. */
async function writeLevels(out: FileHandle, layout: VerityLayout, levels: readonly DigestLevel[]): Promise<void> {
  const staging = Buffer.allocUnsafe(STAGING_BYTES);
  for (const [index, level] of levels.entries()) {
    const fill = fillBlock(level);
    let position = layout.levelOffsets[index]!;
    let used = 0;
    for (let block = 0; block < layout.levelBlocks[index]!; block++) {
      (level.blocks.get(block) ?? fill).copy(staging, used);
      used += VERITY_BLOCK_SIZE;
      if (used === staging.length || block === layout.levelBlocks[index]! - 1) {
        await out.write(staging, 0, used, position);
        position += used;
        used = 0;
      }
    }
  }
}

/**
 * Writes the image's data blocks, the hash levels and the superblock to `outPath` (sized first,
 * so holes stay holes) and returns the root hash in hex.
 */
export async function writeVerityImage(plan: VerityPlan, outPath: string): Promise<string> {
  const image = await openRegularFile(plan.imagePath, `verity: --image "${plan.imagePath}"`);
  try {
    const { size } = await image.stat();
    if (size !== plan.imageSize) {
      throw new UserError(`verity(${plan.imagePath}): the image changed size while building (${plan.imageSize} bytes planned, ${size} now)`);
    }
    const out = await open(outPath, 'w');
    try {
      await out.truncate(plan.layout.fileSize);
      const level0 = startVerityTree(plan.layout.dataBlocks, plan.salt);
      for await (const chunk of readDataChunks(image, size)) {
        const written = out.write(chunk.bytes, 0, chunk.bytes.length, chunk.offset);
        addDataChunk(level0, plan.salt, chunk); // hashes while the write is under way
        await written;
      }
      const tree = finishVerityTree(level0, plan.salt);
      await writeLevels(out, plan.layout, tree.levels);
      await out.write(plan.superblock, 0, plan.superblock.length, plan.layout.hashOffset);
      return tree.rootHash.toString('hex');
    } finally {
      await out.close();
    }
  } finally {
    await image.close();
  }
}

/** The `verity` artifact kind. */
export const verityKind: ArtifactKind<VerityOptions, VerityPlan> = {
  name: 'verity',
  options: optionsSchema,
  async plan(options) {
    checkVerityOptions(options); // option errors first, before the image is even looked at
    return planVerity(options, await imageSizeOf(options.image));
  },
  async build(plan, outPath) {
    await writeVerityImage(plan, outPath);
  },
};
