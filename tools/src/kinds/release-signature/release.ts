/**
 * A signed release folder: the release files, `SHA256SUMS` (what `sha256sum -c` reads), the
 * release manifest (version, OS, env, each file's sha256 and size, the verity root hashes; JSON
 * with sorted keys), a minisign signature of each, and the minisign public key of the signing key.
 * Shared by the `release-signature` kind (Bazel), `icos sign` and `icos verify`.
 */
import { createReadStream } from 'node:fs';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { UserError } from '../../errors.ts';
import { openRegularFile, readRegularFile } from '../../lib/input-file.ts';
import { notJson, quoted } from '../../messages.ts';
import { derivedKeyId, keyIdText, prehash, publicKeyFile, signBytes } from '../../signing/minisign.ts';

export const SUMS_FILE = 'SHA256SUMS';
export const MANIFEST_FILE = 'release-manifest.json';
export const SIGNATURE_SUFFIX = '.minisig';
export const PUBLIC_KEY_FILE = 'release.pub';
const MANIFEST_FORMAT = 'icos release manifest 1';

/** Names in a release folder are plain file names: a list must not reach outside the folder. */
const fileName = z.string().regex(/^(?!\.\.?$)[^/\0\n]+$/, 'a plain file name');
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits');

const manifestSchema = z
  .object({
    format: z.literal(MANIFEST_FORMAT),
    os: z.string().min(1),
    env: z.string().min(1),
    version: z.string().min(1),
    files: z.array(z.object({ name: fileName, sha256: sha256Hex, size: z.number().int().nonnegative() }).strict()),
    verityRootHashes: z.record(fileName, sha256Hex),
  })
  .strict();
export type ReleaseManifest = z.infer<typeof manifestSchema>;
export type ReleaseFile = ReleaseManifest['files'][number];

/** JSON with every object's keys sorted, two-space indent and a final newline: one text per value. */
export function canonicalJson(value: unknown): string {
  const sorted = (item: unknown): unknown => {
    if (Array.isArray(item)) return item.map(sorted);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(Object.keys(item).sort().map((key) => [key, sorted((item as Record<string, unknown>)[key])]));
    }
    return item;
  };
  return `${JSON.stringify(sorted(value), null, 2)}\n`;
}

export function manifestText(fields: Omit<ReleaseManifest, 'format'>): string {
  const files = [...fields.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return canonicalJson({ ...fields, files, format: MANIFEST_FORMAT });
}

/** Parses a manifest; `where` names the file. */
export function parseManifest(text: string, where: string): ReleaseManifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${where}: ${notJson(error)}`);
  }
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success) {
    throw new UserError(parsed.error.issues.map((issue) => `${where}: field "${issue.path.join('.')}": ${issue.message}`).join('\n'));
  }
  return parsed.data;
}

/** Parses `sha256sum` output (`HEX  NAME` or `HEX *NAME` per line) into name -> sha256. */
export function parseSums(text: string, where: string): Map<string, string> {
  const sums = new Map<string, string>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, index) => {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    const name = match?.[2] ?? '';
    if (match === null || !fileName.safeParse(name).success) {
      throw new UserError(`${where}:${index + 1}: ${quoted(line)}: expected "<sha256 in hex>  <file name>" (sha256sum's form)`);
    }
    if (sums.has(name)) throw new UserError(`${where}:${index + 1}: ${quoted(name)} is listed twice`);
    sums.set(name, match[1]!);
  });
  if (sums.size === 0) throw new UserError(`${where}: lists no file`);
  return sums;
}

/** sha256 and size of a file, read once as a stream (release archives are hundreds of MB). */
export async function hashFile(file: string, where: string): Promise<{ sha256: string; size: number }> {
  const handle = await openRegularFile(file, where);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream('', { fd: handle.fd, autoClose: false, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest('hex'), size };
}

/** The trusted comment of a signature: what `minisign -V` prints, tied to the release it signs. */
export function trustedComment(file: string, manifest: Pick<ReleaseManifest, 'os' | 'env' | 'version'> | undefined): string {
  const release = manifest === undefined ? '' : `icos release ${manifest.os} ${manifest.env} ${manifest.version} `;
  return `${release}file:${file}`.replace(/[\r\n]/g, ' ');
}

/** The signed texts of a release: SHA256SUMS's signature, the manifest's (if any) and the public key. */
export interface ReleaseSignatures {
  sumsSignature: string;
  manifestSignature?: string;
  publicKey: string;
}

/** The untrusted comment icos writes (and `icos verify` expects): minisign does not sign it. */
export function untrustedComment(keyId: Buffer): string {
  return `signature from icos, key ${keyIdText(keyId)}`;
}

export function signRelease(sums: Buffer, manifest: Buffer | undefined, key: KeyObject): ReleaseSignatures {
  const parsed = manifest === undefined ? undefined : parseManifest(manifest.toString('utf8'), MANIFEST_FILE);
  const untrusted = untrustedComment(derivedKeyId(createPublicKey(key)));
  return {
    sumsSignature: signBytes(sums, key, trustedComment(SUMS_FILE, parsed), untrusted),
    ...(manifest === undefined ? {} : { manifestSignature: signBytes(manifest, key, trustedComment(MANIFEST_FILE, parsed), untrusted) }),
    publicKey: publicKeyFile(key),
  };
}

/** BLAKE2b-512 and bytes of a small signed file (sums, manifest). */
export async function readSigned(file: string, where: string): Promise<{ bytes: Buffer; digest: Buffer }> {
  const bytes = await readRegularFile(file, where, { maxBytes: 16 * 1024 * 1024 });
  return { bytes, digest: prehash().update(bytes).digest() };
}
