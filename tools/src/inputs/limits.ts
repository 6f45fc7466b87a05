import { EXTENT_SIZE } from './tables.ts';

/**
 * The largest image icos writes: 8 PiB less 1 MiB. Byte offsets are JS numbers, exact only below
 * 2^53 (Node's ftruncate refuses more, and BigInt(offset) of a rounded number would write a wrong
 * GPT or LVM field), and whole MiB keep the end aligned. A host file system may allow less: that
 * is reported as EFBIG when the output is made.
 */
export const MAX_IMAGE_BYTES = 2 ** 53 - 2 ** 20;

/** Why MAX_IMAGE_BYTES, for messages. */
export const IMAGE_LIMIT_RULE = `an image holds at most ${MAX_IMAGE_BYTES} bytes (8 PiB less 1 MiB: byte offsets must stay exact below 2^53)`;

/** LVM extent numbers and counts are 32-bit in the metadata icos writes. */
export const MAX_LVM_EXTENTS = 2 ** 32 - 1;

/** The LVM data area starts 1 MiB into the image (lvm/lvm-labels.ts DATA_AREA_OFFSET). */
const LVM_DATA_OFFSET = 1024 * 1024;

/** The last extent end an LVM image can have: the image must also stay within MAX_IMAGE_BYTES. */
export const MAX_LVM_END_EXTENT = Math.min(MAX_LVM_EXTENTS, Math.floor((MAX_IMAGE_BYTES - LVM_DATA_OFFSET) / EXTENT_SIZE));

/** Why MAX_LVM_END_EXTENT, for messages. */
export const LVM_LIMIT_RULE =
  `volumes end by extent ${MAX_LVM_END_EXTENT}: extent counts are 32-bit and ${IMAGE_LIMIT_RULE.replace(/^an image/, 'the LVM image')}`;
