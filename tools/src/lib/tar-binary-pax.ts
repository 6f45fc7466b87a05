import { createRequire } from 'node:module';
import path from 'node:path';
import tarStream from 'tar-stream';

/**
 * tar-stream decodes and encodes PAX record values as UTF-8 text, which mangles binary extended
 * attributes (`SCHILY.xattr.security.capability` holds raw bytes) and names that are not UTF-8.
 * Through this module every name and PAX value is a "binary string" instead (one char per byte,
 * latin1), so every byte survives a round trip and names compare bytewise. `bytesOf` and
 * `textOf` turn such a string into the bytes or the UTF-8 text it stands for.
 *
 * tar-stream's extract and pack call the codec through the shared `headers` module object, so
 * the codec is replaced there, once per process; the one public way in is `binaryExtract` /
 * `binaryPack`, which install it before handing out a stream.
 */
interface HeaderCodec {
  decodePax(buf: Buffer): Record<string, string>;
  encodePax(opts: { name?: string; linkname?: string | null; pax?: Record<string, string> }): Buffer;
}

/** tar-stream's filename encoding that yields binary strings. */
const BINARY_NAMES = 'latin1';

let installed = false;

function record(key: string, value: string): Buffer {
  const body = Buffer.from(` ${key}=${value}\n`, 'latin1');
  // The length prefix counts itself: grow it until it is stable.
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length), 'latin1'), body]);
}

function decodePax(buf: Buffer): Record<string, string> {
  const result: Record<string, string> = {};
  let offset = 0;
  while (offset < buf.length) {
    const space = buf.indexOf(0x20, offset);
    if (space === -1) break;
    const length = Number.parseInt(buf.toString('latin1', offset, space), 10);
    if (!(length > 0) || offset + length > buf.length) break;
    const text = buf.toString('latin1', space + 1, offset + length - 1);
    const eq = text.indexOf('=');
    if (eq === -1) break;
    result[text.slice(0, eq)] = text.slice(eq + 1);
    offset += length;
  }
  return result;
}

function encodePax(opts: { name?: string; linkname?: string | null; pax?: Record<string, string> }): Buffer {
  const records: Buffer[] = [];
  if (opts.name) records.push(record('path', opts.name));
  if (opts.linkname) records.push(record('linkpath', opts.linkname));
  for (const key of Object.keys(opts.pax ?? {}).sort()) records.push(record(key, opts.pax![key]!));
  return Buffer.concat(records);
}

/** Replaces tar-stream's PAX codec with the binary-string one (idempotent). */
function installBinaryPax(): void {
  if (installed) return;
  const require = createRequire(import.meta.url);
  const codecPath = path.join(path.dirname(require.resolve('tar-stream')), 'headers.js');
  const codec = require(codecPath) as HeaderCodec;
  codec.decodePax = decodePax;
  codec.encodePax = encodePax;
  installed = true;
}

/** A tar-stream extract whose names, link names and PAX values are binary strings. */
export function binaryExtract(): tarStream.Extract {
  installBinaryPax();
  return tarStream.extract({ filenameEncoding: BINARY_NAMES } as object);
}

/** A tar-stream pack that writes names, link names and PAX values given as binary strings byte for byte. */
export function binaryPack(): tarStream.Pack {
  installBinaryPax();
  return tarStream.pack();
}

/** The bytes a binary string stands for. */
export function bytesOf(binary: string): Buffer {
  return Buffer.from(binary, 'latin1');
}

/** A binary string read as UTF-8 text (invalid sequences become U+FFFD, as tar-stream's own decoding does). */
export function textOf(binary: string): string {
  return bytesOf(binary).toString('utf8');
}
