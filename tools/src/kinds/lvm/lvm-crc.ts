/**
 * The checksum LVM2 puts in its label and metadata area headers: CRC-32 with the reflected
 * polynomial 0xEDB88320, but seeded with 0xF597A6CF and without the final inversion, so it is
 * not the zlib CRC-32 value (lvm2 lib/misc/crc.c).
 */

/** The seed lvm2 calls INITIAL_CRC. */
export const LVM_INITIAL_CRC = 0xf597a6cf;

const TABLE = buildTable();

function buildTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** LVM2's CRC of `bytes` (an unsigned 32-bit value). */
export function lvmCrc(bytes: Uint8Array, initial: number = LVM_INITIAL_CRC): number {
  let crc = initial >>> 0;
  for (const byte of bytes) crc = TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return crc >>> 0;
}
