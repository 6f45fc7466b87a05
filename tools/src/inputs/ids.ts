/** Identifier formats used by the IC-OS tables. */

const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/** Whether `text` is a GUID in the 8-4-4-4-12 hex form (either case). */
export function isGuid(text: string): boolean {
  return GUID.test(text);
}

/** Whether `text` is the all-zero GUID: an unused GPT entry's type, never a real partition's. */
export function isZeroGuid(text: string): boolean {
  return isGuid(text) && /^[0-]+$/.test(text);
}

/** The characters LVM uses for its ids (lvm2 lib/uuid). */
const LVM_ID = /^[0-9A-Za-z!#]{6}(?:-[0-9A-Za-z!#]{4}){5}-[0-9A-Za-z!#]{6}$/;

/** Whether `text` is an LVM id: 32 characters in 6-4-4-4-4-4-6 groups. */
export function isLvmId(text: string): boolean {
  return LVM_ID.test(text);
}

/** GPT partition type GUIDs for the one-letter codes of partitions.csv. */
export const PARTITION_TYPE_LETTERS: Record<string, string> = {
  U: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', // EFI System
  L: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', // Linux filesystem
  M: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', // Microsoft basic data
};
