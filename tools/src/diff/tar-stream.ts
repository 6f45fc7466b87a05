import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { readNumber } from '../kinds/sparse-tar/header.ts';
import type { Extent } from '../lib/sparse-map.ts';
import { UserError } from '../errors.ts';
import { formatOfHead } from './detect.ts';

/**
 * Walks a tar stream once, member by member, with bounded memory: headers are decoded here (POSIX
 * ustar, pax `x` records, GNU long names and old-GNU sparse members, as our sparse-tar writer and
 * GNU tar write them); each member's data is either hashed on the fly or, when it is an image
 * (sparse, or a known image format by its first bytes), written to a scratch file for the layers
 * below.
 */

const BLOCK = 512;
/** Bytes a member's data is sniffed on before deciding to keep it as an image. */
const SNIFF_BYTES = 4096;

export interface TarMember {
  name: string;
  type: string;
  fields: Map<string, string>;
  /** sha256 of the data (the real file's bytes, holes as zeros are not hashed: see `imagePath`). */
  sha256?: string;
  /** Where the data was written when it is an image, at its real size with holes kept. */
  imagePath?: string;
}

/** Pulls exact byte counts out of a chunked stream. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  private readonly iterator: AsyncIterator<Buffer | string>;

  constructor(stream: AsyncIterable<Buffer | string>) {
    this.iterator = stream[Symbol.asyncIterator]();
  }

  private async fill(wanted: number): Promise<void> {
    while (this.buffered < wanted && !this.done) {
      const next = await this.iterator.next();
      if (next.done === true) this.done = true;
      else {
        const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
        this.chunks.push(chunk);
        this.buffered += chunk.length;
      }
    }
  }

  /** Up to `length` bytes (fewer only at the end of the stream). */
  async read(length: number): Promise<Buffer> {
    await this.fill(length);
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const taken = all.subarray(0, Math.min(length, all.length));
    const rest = all.subarray(taken.length);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return taken;
  }

  /** Reads and drops the rest of the stream. */
  async drain(): Promise<void> {
    this.chunks = [];
    this.buffered = 0;
    while (!this.done) this.done = (await this.iterator.next()).done === true;
  }

  /** Hands `length` bytes to `sink` in pieces of at most 4 MiB. */
  async pipe(length: number, sink: (bytes: Buffer) => Promise<void> | void): Promise<void> {
    for (let left = length; left > 0; ) {
      const piece = await this.read(Math.min(left, 4 * 1024 * 1024));
      if (piece.length === 0) throw new TarFormatError('the archive ends inside a member');
      await sink(piece);
      left -= piece.length;
    }
  }
}

function checksumMatches(header: Buffer): boolean {
  let sum = 0;
  for (let at = 0; at < BLOCK; at++) sum += at >= 148 && at < 156 ? 0x20 : header[at]!;
  const stored = Number.parseInt(header.toString('latin1', 148, 156).replace(/[\0 ]+$/, '').trim(), 8);
  return stored === sum;
}

function text(block: Buffer, at: number, length: number): string {
  return block.toString('utf8', at, at + length).replace(/\0.*$/s, '');
}

/** A numeric header field (octal or base-256); an empty one reads as 0. */
function numberField(block: Buffer, at: number, length: number): number {
  if (block[at] === 0) return 0;
  try {
    return readNumber(block, at, length);
  } catch (error) {
    throw new TarFormatError((error as Error).message);
  }
}

/** pax records `LEN key=value\n`. */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = Number(data.toString('latin1', at, space));
    if (space < 0 || !Number.isInteger(length) || length <= 0) break;
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/** The old-GNU sparse map of a type 'S' header, reading its extension blocks from the stream. */
async function sparseMap(header: Buffer, reader: ByteReader): Promise<{ realSize: number; map: Extent[] }> {
  const entries = (block: Buffer, at: number, count: number) => {
    const list: Extent[] = [];
    for (let index = 0; index < count; index++) {
      const start = at + index * 24;
      if (block[start] === 0) break;
      list.push({ offset: numberField(block, start, 12), length: numberField(block, start + 12, 12) });
    }
    return list;
  };
  const map = entries(header, 386, 4);
  let extended = header[482] === 1;
  while (extended) {
    const block = await reader.read(BLOCK);
    if (block.length < BLOCK) throw new TarFormatError('the archive ends inside a sparse map');
    map.push(...entries(block, 0, 21));
    extended = block[504] === 1;
  }
  return { realSize: numberField(header, 483, 12), map };
}

/** Reads every member of the tar stream; images go to `imagePathFor(index, name)`. */
export async function readTarMembers(
  stream: AsyncIterable<Buffer | string>,
  imagePathFor: (index: number, name: string) => string,
  where: string,
): Promise<TarMember[]> {
  const reader = new ByteReader(stream);
  try {
    const members = await readMembers(reader, imagePathFor);
    await reader.drain();
    return members;
  } catch (error) {
    if (error instanceof TarFormatError) throw new UserError(`${where}: not a tar archive icos can read: ${error.message}`);
    throw error;
  }
}

/** A tar stream that breaks the format (reported with the archive's name by `readTarMembers`). */
class TarFormatError extends Error {}

async function readMembers(reader: ByteReader, imagePathFor: (index: number, name: string) => string): Promise<TarMember[]> {
  const members: TarMember[] = [];
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  for (;;) {
    const header = await reader.read(BLOCK);
    if (header.length < BLOCK || header.every((byte) => byte === 0)) break;
    if (!checksumMatches(header)) throw new TarFormatError(`header ${members.length + 1}: checksum does not match`);
    const type = String.fromCharCode(header[156] || 0x30);
    const size = numberField(header, 124, 12);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L' || type === 'K' || type === 'x' || type === 'g') {
      const data = (await reader.read(padded)).subarray(0, size);
      if (type === 'L') longName = text(data, 0, data.length);
      else if (type === 'K') longLink = text(data, 0, data.length);
      else if (type === 'x') pax = paxRecords(data);
      continue;
    }
    const magic = header.toString('latin1', 257, 263);
    const prefix = magic === 'ustar\0' ? text(header, 345, 155) : '';
    const name = pax.get('path') ?? longName ?? (prefix === '' ? text(header, 0, 100) : `${prefix}/${text(header, 0, 100)}`);
    const fields = new Map<string, string>([
      ['type', type],
      ['mode', (numberField(header, 100, 8) & 0o7777).toString(8).padStart(4, '0')],
      ['uid', pax.get('uid') ?? String(numberField(header, 108, 8))],
      ['gid', pax.get('gid') ?? String(numberField(header, 116, 8))],
      ['uname', pax.get('uname') ?? text(header, 265, 32)],
      ['gname', pax.get('gname') ?? text(header, 297, 32)],
      ['mtime', pax.get('mtime') ?? String(numberField(header, 136, 12))],
    ]);
    const link = pax.get('linkpath') ?? longLink ?? text(header, 157, 100);
    if (type === '1' || type === '2') fields.set('link target', link);
    if (type === '3' || type === '4') fields.set('device', `${numberField(header, 329, 8)},${numberField(header, 337, 8)}`);
    for (const [key, value] of pax) if (key.startsWith('SCHILY.xattr.')) fields.set(`xattr ${key.slice(13)}`, value);
    const sparse = type === 'S' ? await sparseMap(header, reader) : undefined;
    const stored = pax.has('size') ? Number(pax.get('size')) : size;
    fields.set('size', String(sparse?.realSize ?? stored));
    longName = longLink = undefined;
    pax = new Map();
    const member: TarMember = { name, type, fields };
    if (type === '0' || type === '7' || type === 'S') await readData(reader, member, stored, sparse, () => imagePathFor(members.length, name));
    else await reader.read(Math.ceil(stored / BLOCK) * BLOCK);
    members.push(member);
  }
  return members;
}

/** Hashes or keeps a member's data; consumes it and its padding. */
async function readData(reader: ByteReader, member: TarMember, stored: number, sparse: { realSize: number; map: Extent[] } | undefined, imagePath: () => string): Promise<void> {
  const head = await reader.read(Math.min(stored, SNIFF_BYTES));
  const isImage = sparse !== undefined || ['gpt', 'lvm', 'ext4', 'fat'].includes(formatOfHead(head));
  if (!isImage) {
    const hash = createHash('sha256').update(head);
    await reader.pipe(stored - head.length, (bytes) => void hash.update(bytes));
    member.sha256 = hash.digest('hex');
  } else {
    member.imagePath = imagePath();
    const out = await open(member.imagePath, 'wx', 0o600);
    try {
      await out.truncate(sparse?.realSize ?? stored);
      const map = sparse?.map ?? [{ offset: 0, length: stored }];
      let pending = head;
      for (const entry of map) {
        let at = entry.offset;
        let left = entry.length;
        const write = async (bytes: Buffer) => {
          await out.write(bytes, 0, bytes.length, at);
          at += bytes.length;
          left -= bytes.length;
        };
        const fromHead = pending.subarray(0, Math.min(pending.length, left));
        pending = pending.subarray(fromHead.length);
        if (fromHead.length > 0) await write(fromHead);
        await reader.pipe(left, write);
      }
    } finally {
      await out.close();
    }
  }
  await reader.read((BLOCK - (stored % BLOCK)) % BLOCK);
}
