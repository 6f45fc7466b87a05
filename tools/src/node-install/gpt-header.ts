import { SECTOR_SIZE } from '../inputs/tables.ts';

/**
 * The few fields of a GPT header the installer needs to hold a disk image's partition table back
 * (it is written last) and to leave out the backup copy at the image's end (the target is larger,
 * so there it would land mid-disk). Checking the table is sgdisk's job; this only locates it.
 */

export interface GptHeader {
  /** Sector of the other header (the backup's, read from the primary). */
  alternateLba: number;
  /** The last sector a partition may use: everything after it is the backup table. */
  lastUsableLba: number;
}

const SIGNATURE = 'EFI PART';

/** The header at `sector` of `bytes` (a disk's first sectors), or a message why there is none. */
export function readGptHeader(bytes: Buffer, sector = 1): GptHeader | string {
  const at = sector * SECTOR_SIZE;
  if (bytes.length < at + 92) return `no GPT header: only ${bytes.length} bytes`;
  if (bytes.toString('latin1', at, at + 8) !== SIGNATURE) return `no GPT header at sector ${sector} (no "${SIGNATURE}" signature)`;
  return { alternateLba: Number(bytes.readBigUInt64LE(at + 32)), lastUsableLba: Number(bytes.readBigUInt64LE(at + 48)) };
}

/**
 * Where a disk's backup table region starts: right after the last usable sector. The backup
 * entries need not be adjacent to the backup header (sgdisk keeps the last usable sector
 * aligned), but both lie in this region, and no partition does.
 */
export function backupRegionStart(header: GptHeader): number {
  return (header.lastUsableLba + 1) * SECTOR_SIZE;
}
