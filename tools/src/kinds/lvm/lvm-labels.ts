import { lvmCrc } from './lvm-crc.ts';

/**
 * The binary headers of an LVM2 physical volume (lvm2 lib/label/label.h, lib/format_text/layout.h).
 * All integers are little-endian; every structure lives in a 512-byte sector.
 */

export const SECTOR = 512;
/** The label goes in sector 1 (lvm2 scans sectors 0-3; pvcreate uses 1). */
export const LABEL_SECTOR = 1;
/** The one metadata area starts at 4 KiB and runs up to the data area. */
export const METADATA_AREA_OFFSET = 4096;
/** Where the PV data area (first extent) starts: 1 MiB, pe_start = 2048 sectors. */
export const DATA_AREA_OFFSET = 1024 * 1024;
export const METADATA_AREA_SIZE = DATA_AREA_OFFSET - METADATA_AREA_OFFSET;
/** The metadata text follows the 512-byte metadata area header. */
export const METADATA_TEXT_OFFSET = SECTOR;

const LABEL_ID = 'LABELONE';
const LABEL_TYPE = 'LVM2 001';
/** label_header is 32 bytes; pv_header follows it. */
const PV_HEADER_OFFSET = 32;
/** The label CRC covers the sector from offset_xl (byte 20) to its end. */
const LABEL_CRC_START = 20;
const MDA_MAGIC = ' LVM2 x[5A%r0N*>';
const MDA_VERSION = 1;
const PV_EXTENSION_VERSION = 2;
/** PV_EXT_USED: the PV belongs to a VG. */
const PV_EXTENSION_FLAGS = 1;

/** What the label sector says about the PV. */
export interface LabelInput {
  /** 32 characters, the PV id without dashes. */
  pvIdChars: string;
  deviceSize: number;
}

/** The 512-byte label sector: label_header, pv_header, area lists and pv_header_extension. */
export function labelSector(input: LabelInput): Buffer {
  const sector = Buffer.alloc(SECTOR);
  sector.write(LABEL_ID, 0, 'ascii');
  sector.writeBigUInt64LE(BigInt(LABEL_SECTOR), 8);
  sector.writeUInt32LE(PV_HEADER_OFFSET, 20);
  sector.write(LABEL_TYPE, 24, 'ascii');
  let at = PV_HEADER_OFFSET;
  sector.write(input.pvIdChars, at, 'ascii');
  at += 32;
  sector.writeBigUInt64LE(BigInt(input.deviceSize), at);
  at += 8;
  // Data areas: one from 1 MiB, size 0 meaning "to the end of the device"; a zero entry ends the list.
  sector.writeBigUInt64LE(BigInt(DATA_AREA_OFFSET), at);
  at += 32;
  // Metadata areas: one, then the zero terminator.
  sector.writeBigUInt64LE(BigInt(METADATA_AREA_OFFSET), at);
  sector.writeBigUInt64LE(BigInt(METADATA_AREA_SIZE), at + 8);
  at += 32;
  sector.writeUInt32LE(PV_EXTENSION_VERSION, at);
  sector.writeUInt32LE(PV_EXTENSION_FLAGS, at + 4);
  // An empty bootloader area list (zero terminator) follows; the buffer is already zero.
  sector.writeUInt32LE(lvmCrc(sector.subarray(LABEL_CRC_START)), 16);
  return sector;
}

/** The metadata area's start: its 512-byte header and the NUL-terminated text right after it. */
export function metadataAreaStart(text: string): Buffer {
  const textBytes = Buffer.from(`${text}\0`, 'utf8');
  const area = Buffer.alloc(METADATA_TEXT_OFFSET + textBytes.length);
  area.write(MDA_MAGIC, 4, 'ascii');
  area.writeUInt32LE(MDA_VERSION, 20);
  area.writeBigUInt64LE(BigInt(METADATA_AREA_OFFSET), 24);
  area.writeBigUInt64LE(BigInt(METADATA_AREA_SIZE), 32);
  // raw_locn of the current metadata: offset relative to the area, size incl. NUL, CRC, flags 0.
  area.writeBigUInt64LE(BigInt(METADATA_TEXT_OFFSET), 40);
  area.writeBigUInt64LE(BigInt(textBytes.length), 48);
  area.writeUInt32LE(lvmCrc(textBytes), 56);
  area.writeUInt32LE(lvmCrc(area.subarray(4, SECTOR)), 0);
  textBytes.copy(area, METADATA_TEXT_OFFSET);
  return area;
}
