import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * tar-stream decodes and encodes PAX record values as UTF-8 text, which mangles binary extended
 * attributes (`SCHILY.xattr.security.capability` holds raw bytes). Names and values are kept
 * here as "binary strings" instead (one char per byte, latin1), so every byte survives a round
 * trip and names compare bytewise. Applied once to tar-stream's shared header codec.
 */
interface HeaderCodec {
  decodePax(buf: Buffer): Record<string, string>;
  encodePax(opts: { name?: string; linkname?: string | null; pax?: Record<string, string> }): Buffer;
}

/** The filename encoding to give tar-stream's extract so names are binary strings too. */
export const BINARY_NAMES = 'latin1';

let patched = false;

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

/** Makes tar-stream keep PAX values and names byte for byte (idempotent). */
export function useBinaryPax(): void {
  if (patched) return;
  const require = createRequire(import.meta.url);
  const codecPath = path.join(path.dirname(require.resolve('tar-stream')), 'headers.js');
  const codec = require(codecPath) as HeaderCodec;
  codec.decodePax = decodePax;
  codec.encodePax = encodePax;
  patched = true;
}
