/** Validated rows of the IC-OS table formats (see partitions-csv.ts and volumes-csv.ts). */

/** Bytes per sector in partitions.csv. */
export const SECTOR_SIZE = 512;
/** Bytes per LVM extent in volumes.csv. */
export const EXTENT_SIZE = 4 * 1024 * 1024;

export interface Partition {
  name: string;
  /** First 512-byte sector. */
  start: number;
  /** Length in 512-byte sectors. */
  size: number;
  /** GPT partition type GUID, upper case. */
  typeGuid: string;
  /** GPT partition GUID (PARTUUID), upper case. */
  uuid: string;
  comment: string;
  /** 1-based line in the CSV file, for messages. */
  line: number;
}

export interface PartitionTable {
  file: string;
  partitions: Partition[];
}

export interface Volume {
  name: string;
  /** First 4 MiB extent, relative to the PV data area. */
  start: number;
  /** Length in 4 MiB extents. */
  size: number;
  /** LVM id as written in the table (32 characters of [A-Za-z0-9] in 6-4-4-4-4-4-6 groups). */
  uuid: string;
  comment: string;
  line: number;
}

export interface VolumeTable {
  file: string;
  volumes: Volume[];
}
