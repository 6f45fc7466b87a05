import { open } from 'node:fs/promises';
import { UserError } from '../../errors.ts';

/**
 * Every write through libext2fs stamps the superblock (and its backups) with the wall clock and
 * adds the bytes it wrote to a lifetime counter; E2FSPROGS_FAKE_TIME cannot say "0". So after the
 * last e2fsprogs tool ran, the time fields of every superblock copy are set to
 * SOURCE_DATE_EPOCH, the counter to 0, and the checksum is recomputed.
 */

const SUPERBLOCK_OFFSET = 1024;
const SUPERBLOCK_SIZE = 1024;
const MAGIC = 0xef53;
const RO_COMPAT_SPARSE_SUPER = 0x1;
const RO_COMPAT_METADATA_CSUM = 0x400;
const COMPAT_SPARSE_SUPER2 = 0x200;
const INCOMPAT_64BIT = 0x80;

/** Byte offsets of the superblock fields we rewrite (Linux `struct ext4_super_block`). */
const FIELD = {
  blocksCountLo: 0x04,
  firstDataBlock: 0x14,
  logBlockSize: 0x18,
  blocksPerGroup: 0x20,
  wtime: 0x30,
  magic: 0x38,
  lastcheck: 0x40,
  featureCompat: 0x5c,
  featureRoCompat: 0x64,
  featureIncompat: 0x60,
  mkfsTime: 0x108,
  blocksCountHi: 0x150,
  kbytesWritten: 0x178,
  wtimeHi: 0x274,
  mkfsTimeHi: 0x276,
  lastcheckHi: 0x277,
  checksum: 0x3fc,
} as const;

/** Sets write, creation and last-check times to `epoch` in all superblock copies of `imagePath`. */
export async function normalizeSuperblocks(imagePath: string, epoch: number): Promise<number> {
  const handle = await open(imagePath, 'r+');
  try {
    const primary = Buffer.alloc(SUPERBLOCK_SIZE);
    await handle.read(primary, 0, SUPERBLOCK_SIZE, SUPERBLOCK_OFFSET);
    if (primary.readUInt16LE(FIELD.magic) !== MAGIC) throw new UserError(`"${imagePath}": no ext4 superblock found`);
    let copies = 0;
    for (const offset of superblockOffsets(primary)) {
      const sb = Buffer.alloc(SUPERBLOCK_SIZE);
      await handle.read(sb, 0, SUPERBLOCK_SIZE, offset);
      if (sb.readUInt16LE(FIELD.magic) !== MAGIC) continue;
      stamp(sb, epoch);
      await handle.write(sb, 0, SUPERBLOCK_SIZE, offset);
      copies += 1;
    }
    return copies;
  } finally {
    await handle.close();
  }
}

function stamp(sb: Buffer, epoch: number): void {
  const low = epoch % 2 ** 32;
  const high = Math.floor(epoch / 2 ** 32) & 0xff;
  for (const [lo, hi] of [
    [FIELD.wtime, FIELD.wtimeHi],
    [FIELD.mkfsTime, FIELD.mkfsTimeHi],
    [FIELD.lastcheck, FIELD.lastcheckHi],
  ] as const) {
    sb.writeUInt32LE(low, lo);
    sb.writeUInt8(high, hi);
  }
  sb.writeBigUInt64LE(0n, FIELD.kbytesWritten);
  if (sb.readUInt32LE(FIELD.featureRoCompat) & RO_COMPAT_METADATA_CSUM) {
    sb.writeUInt32LE(ext4Crc32c(sb.subarray(0, FIELD.checksum)), FIELD.checksum);
  }
}

/** Byte offsets of the primary superblock and every backup (sparse_super: groups 0, 1, 3^n, 5^n, 7^n). */
export function superblockOffsets(primary: Buffer): number[] {
  const blockSize = 1024 << primary.readUInt32LE(FIELD.logBlockSize);
  const firstDataBlock = primary.readUInt32LE(FIELD.firstDataBlock);
  const blocksPerGroup = primary.readUInt32LE(FIELD.blocksPerGroup);
  const is64 = (primary.readUInt32LE(FIELD.featureIncompat) & INCOMPAT_64BIT) !== 0;
  const blocks = primary.readUInt32LE(FIELD.blocksCountLo) + (is64 ? primary.readUInt32LE(FIELD.blocksCountHi) * 2 ** 32 : 0);
  const groups = Math.ceil((blocks - firstDataBlock) / blocksPerGroup);
  if (primary.readUInt32LE(FIELD.featureCompat) & COMPAT_SPARSE_SUPER2) {
    throw new UserError('ext4: sparse_super2 images are not supported by the superblock normaliser');
  }
  const sparse = (primary.readUInt32LE(FIELD.featureRoCompat) & RO_COMPAT_SPARSE_SUPER) !== 0;
  const offsets = [SUPERBLOCK_OFFSET];
  for (let group = 1; group < groups; group += 1) {
    if (!sparse || isSparseBackupGroup(group)) offsets.push((firstDataBlock + group * blocksPerGroup) * blockSize);
  }
  return offsets;
}

function isSparseBackupGroup(group: number): boolean {
  if (group === 1) return true;
  for (const base of [3, 5, 7]) {
    let power = base;
    while (power < group) power *= base;
    if (power === group) return true;
  }
  return false;
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** ext4's metadata checksum: CRC-32C seeded with ~0 and without the final inversion. */
export function ext4Crc32c(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC32C_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return crc >>> 0;
}
