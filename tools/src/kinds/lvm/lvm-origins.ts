import { open } from 'node:fs/promises';
import { EXTENT_SIZE } from '../../inputs/tables.ts';
import { DATA_AREA_OFFSET, METADATA_AREA_OFFSET, SECTOR } from './lvm-labels.ts';

/**
 * Where each LV of an LVM image made by the lvm kind starts (bytes from the image start), read
 * back from the image: a disk that holds such an image restarts its archive's framing windows at
 * these offsets too, so it copies the frames of the LVM archive instead of compressing again.
 * Anything else (no LVM2 label in sector 1, another metadata layout) gives no offsets: correct,
 * only slower.
 */
export async function lvmVolumeOffsets(imagePath: string): Promise<number[]> {
  const file = await open(imagePath, 'r');
  try {
    const label = Buffer.alloc(SECTOR);
    await file.read(label, 0, SECTOR, SECTOR);
    if (label.toString('latin1', 0, 8) !== 'LABELONE' || label.toString('latin1', 24, 32) !== 'LVM2 001') return [];
    const metadata = Buffer.alloc(DATA_AREA_OFFSET - METADATA_AREA_OFFSET);
    const { bytesRead } = await file.read(metadata, 0, metadata.length, METADATA_AREA_OFFSET);
    const text = metadata.toString('latin1', 0, bytesRead);
    const peStart = /\bpe_start = (\d+)/.exec(text);
    if (peStart === null) return [];
    const dataStart = Number(peStart[1]) * SECTOR;
    return [...text.matchAll(/stripes = \[\s*"pv0", (\d+)\s*\]/g)].map((match) => dataStart + Number(match[1]) * EXTENT_SIZE);
  } finally {
    await file.close();
  }
}
