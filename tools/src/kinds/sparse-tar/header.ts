import type { Extent } from '../../lib/sparse-map.ts';

/**
 * Old-GNU tar headers (GNU tar's `--format=oldgnu`), the only format whose sparse members
 * (typeflag 'S') every GNU tar and the IC-OS installers read. Layout of the 512-byte header:
 * POSIX fields up to offset 345, then atime, ctime, offset, longnames (left zero), a sparse map of
 * 4 (offset, numbytes) pairs at 386, `isextended` at 482 and `realsize` at 483. When the map has
 * more than 4 entries, extension blocks of 21 pairs follow, each with its own `isextended` at 504.
 */

export const BLOCK_SIZE = 512;
/** The longest member name the 100-byte name field holds (no GNU long-name records are written). */
export const MAX_NAME_BYTES = 100;

const ENTRY_SIZE = 24;
const MAIN_MAP_OFFSET = 386;
const MAIN_MAP_ENTRIES = 4;
const MAIN_IS_EXTENDED = 482;
const REAL_SIZE_OFFSET = 483;
const EXTENSION_MAP_ENTRIES = 21;
const EXTENSION_IS_EXTENDED = 504;
const CHECKSUM_OFFSET = 148;
const CHECKSUM_LENGTH = 8;

/** Fixed metadata of every member: numeric owners only, so `tar -tv` shows 0/0 like dflate's output. */
const FILE_MODE = 0o644;
const OWNER_ID = 0;
const OLD_GNU_MAGIC = 'ustar  \0';

/** One member as it goes into the archive. */
export interface HeaderFields {
  name: string;
  /** Seconds since the epoch (SOURCE_DATE_EPOCH). */
  mtime: number;
  /** Bytes of data that follow the header(s). */
  storedSize: number;
  /** Present for sparse members: the real file size and the map of stored extents. */
  sparse?: { realSize: number; map: readonly Extent[] };
}

/**
 * Writes `value` into a numeric field: zero-padded octal with a NUL terminator as GNU tar writes
 * it, or base-256 (first byte 0x80, big-endian binary) when the octal digits do not fit, which
 * is what GNU tar does for sizes and offsets of 8 GiB and more.
 */
export function writeNumber(block: Buffer, offset: number, length: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`tar field value ${value} is not a byte count`);
  if (value < 8 ** (length - 1)) {
    block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'latin1');
    return;
  }
  let rest = BigInt(value);
  for (let at = offset + length - 1; at > offset; at -= 1) {
    block[at] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  block[offset] = 0x80;
}

function writeMapEntries(block: Buffer, at: number, entries: readonly Extent[]): void {
  entries.forEach((entry, index) => {
    writeNumber(block, at + index * ENTRY_SIZE, 12, entry.offset);
    writeNumber(block, at + index * ENTRY_SIZE + 12, 12, entry.length);
  });
}

/** The checksum covers the header block only, with its own field counted as spaces. */
function writeChecksum(block: Buffer): void {
  block.fill(0x20, CHECKSUM_OFFSET, CHECKSUM_OFFSET + CHECKSUM_LENGTH);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, CHECKSUM_OFFSET, CHECKSUM_LENGTH, 'latin1');
}

/** The header block(s) of one member: the main header, plus extension blocks for long sparse maps. */
export function encodeHeaders(fields: HeaderFields): Buffer {
  const main = Buffer.alloc(BLOCK_SIZE);
  main.write(fields.name, 0, MAX_NAME_BYTES, 'utf8');
  writeNumber(main, 100, 8, FILE_MODE);
  writeNumber(main, 108, 8, OWNER_ID);
  writeNumber(main, 116, 8, OWNER_ID);
  writeNumber(main, 124, 12, fields.storedSize);
  writeNumber(main, 136, 12, fields.mtime);
  main.write(fields.sparse === undefined ? '0' : 'S', 156, 1, 'latin1');
  main.write(OLD_GNU_MAGIC, 257, 8, 'latin1');
  // uname and gname stay empty: numeric owners cannot differ between build hosts.
  const blocks = [main];
  if (fields.sparse !== undefined) {
    const { realSize, map } = fields.sparse;
    writeMapEntries(main, MAIN_MAP_OFFSET, map.slice(0, MAIN_MAP_ENTRIES));
    writeNumber(main, REAL_SIZE_OFFSET, 12, realSize);
    let isExtendedAt = MAIN_IS_EXTENDED;
    let previous = main;
    for (let start = MAIN_MAP_ENTRIES; start < map.length; start += EXTENSION_MAP_ENTRIES) {
      previous[isExtendedAt] = 1;
      const extension = Buffer.alloc(BLOCK_SIZE);
      writeMapEntries(extension, 0, map.slice(start, start + EXTENSION_MAP_ENTRIES));
      blocks.push(extension);
      previous = extension;
      isExtendedAt = EXTENSION_IS_EXTENDED;
    }
  }
  writeChecksum(main);
  return Buffer.concat(blocks);
}

/** Zero bytes that pad `length` bytes of member data to a whole block. */
export function paddingFor(length: number): Buffer {
  return Buffer.alloc((BLOCK_SIZE - (length % BLOCK_SIZE)) % BLOCK_SIZE);
}

/** Two zero blocks close the archive; no padding to a 10 KiB record (GNU tar reads it as is). */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK_SIZE);

/** A member's header blocks as `decodeHeaders` reads them back. */
export interface DecodedHeaders {
  name: string;
  storedSize: number;
  /** Bytes of header blocks before the member's data. */
  headerBytes: number;
  sparse?: { realSize: number; map: Extent[] };
}

/** Reads a numeric field written by `writeNumber` (octal, or base-256 when the first byte is 0x80). */
export function readNumber(block: Buffer, offset: number, length: number): number {
  if (block[offset] === 0x80) {
    let value = 0n;
    for (let at = offset + 1; at < offset + length; at += 1) value = (value << 8n) | BigInt(block[at]!);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`numeric field at ${offset} is too large`);
    return Number(value);
  }
  const text = block.toString('latin1', offset, offset + length).replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (!/^[0-7]+$/.test(text)) throw new Error(`numeric field at ${offset} is not octal: "${text}"`);
  return Number.parseInt(text, 8);
}

function readMapEntries(block: Buffer, at: number, count: number): Extent[] {
  const entries: Extent[] = [];
  for (let index = 0; index < count; index += 1) {
    const start = at + index * ENTRY_SIZE;
    if (block[start] === 0) break;
    entries.push({ offset: readNumber(block, start, 12), length: readNumber(block, start + 12, 12) });
  }
  return entries;
}

/**
 * Decodes the headers `encodeHeaders` writes: one old-GNU regular ('0') or sparse ('S') member with
 * a bare name. Returns 'need-more' when the sparse map continues in a block not given yet. Throws
 * on anything else (bad magic or checksum, a path in the name, a map that does not add up).
 */
export function decodeHeaders(blocks: Buffer): DecodedHeaders | 'need-more' {
  if (blocks.length < BLOCK_SIZE) throw new Error('archive is shorter than one header block');
  const main = blocks.subarray(0, BLOCK_SIZE);
  if (main.toString('latin1', 257, 265) !== OLD_GNU_MAGIC) throw new Error('first block is not an old-GNU tar header');
  const stored = readNumber(main, CHECKSUM_OFFSET, CHECKSUM_LENGTH);
  const copy = Buffer.from(main);
  copy.fill(0x20, CHECKSUM_OFFSET, CHECKSUM_OFFSET + CHECKSUM_LENGTH);
  if (copy.reduce((sum, byte) => sum + byte, 0) !== stored) throw new Error('header checksum does not match');
  const name = main.toString('utf8', 0, MAX_NAME_BYTES).replace(/\0.*$/s, '');
  if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new Error(`member name "${name}" is not a bare file name`);
  const storedSize = readNumber(main, 124, 12);
  const type = main.toString('latin1', 156, 157);
  if (type === '0') return { name, storedSize, headerBytes: BLOCK_SIZE };
  if (type !== 'S') throw new Error(`member "${name}" has type "${type}", expected a regular or sparse file`);
  const map = readMapEntries(main, MAIN_MAP_OFFSET, MAIN_MAP_ENTRIES);
  let extended = main[MAIN_IS_EXTENDED] === 1;
  let headerBytes = BLOCK_SIZE;
  while (extended) {
    if (blocks.length < headerBytes + BLOCK_SIZE) return 'need-more';
    const extension = blocks.subarray(headerBytes, headerBytes + BLOCK_SIZE);
    map.push(...readMapEntries(extension, 0, EXTENSION_MAP_ENTRIES));
    extended = extension[EXTENSION_IS_EXTENDED] === 1;
    headerBytes += BLOCK_SIZE;
  }
  const realSize = readNumber(main, REAL_SIZE_OFFSET, 12);
  let end = 0;
  let total = 0;
  for (const entry of map) {
    if (entry.offset < end || entry.offset + entry.length > realSize) throw new Error(`member "${name}": sparse map entries overlap or pass its size`);
    end = entry.offset + entry.length;
    total += entry.length;
  }
  if (total !== storedSize) throw new Error(`member "${name}": sparse map holds ${total} bytes, header says ${storedSize}`);
  return { name, storedSize, headerBytes, sparse: { realSize, map } };
}
