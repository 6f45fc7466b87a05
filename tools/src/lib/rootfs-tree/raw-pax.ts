import { createRequire } from 'node:module';
import path from 'node:path';

const RAW_PAX = Symbol('icos.rawPax');
let rawPaxInstalled = false;

/**
 * tar-stream decodes pax values as UTF-8, which corrupts binary xattrs such as
 * security.capability. Its extractor calls `headers.decodePax` through the module object, so
 * wrapping it lets us keep every record's raw bytes beside the decoded strings.
 */
export function installRawPaxDecoder(): void {
  if (rawPaxInstalled) return;
  rawPaxInstalled = true;
  try {
    const require = createRequire(import.meta.url);
    const headersPath = path.join(path.dirname(require.resolve('tar-stream')), 'headers.js');
    const headers = require(headersPath) as { decodePax: (buf: Buffer) => Record<string | symbol, unknown> };
    const decode = headers.decodePax;
    headers.decodePax = (buf: Buffer) => Object.assign(decode(buf), { [RAW_PAX]: rawPaxRecords(buf) });
  } catch {
    // A different tar-stream layout: binary xattrs are then detected and refused in xattrsOf.
  }
}

/** Parses pax records (`<length> <key>=<value>\n`) without decoding the values. */
function rawPaxRecords(buf: Buffer): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let offset = 0;
  while (offset < buf.length) {
    const space = buf.indexOf(0x20, offset);
    const length = Number(buf.subarray(offset, space).toString('latin1'));
    if (space < 0 || !Number.isInteger(length) || length <= 0) break;
    const record = buf.subarray(space + 1, offset + length - 1);
    const eq = record.indexOf(0x3d);
    if (eq > 0) records.set(record.subarray(0, eq).toString('utf8'), Buffer.from(record.subarray(eq + 1)));
    offset += length;
  }
  return records;
}

/** The raw bytes of an entry's pax records, or undefined when the decoder could not be wrapped. */
export function rawPaxOf(pax: object): Map<string, Buffer> | undefined {
  return (pax as { [RAW_PAX]?: Map<string, Buffer> })[RAW_PAX];
}
