/**
 * minisign's file formats (https://jedisct1.github.io/minisign/), written and checked with Node's
 * crypto, so Debian's `minisign -Vm FILE -p KEY.pub` verifies what we sign and we verify what it
 * signs. Only the prehashed form ("ED": Ed25519 over the file's BLAKE2b-512) is made: it signs a
 * multi-GB file with one streaming hash. Ed25519 is deterministic, so a signature of the same
 * bytes with the same key and comment is byte-identical on every run.
 *
 *   public key:  "untrusted comment: ..." \n base64("Ed" || key id (8) || public key (32))
 *   signature:   "untrusted comment: ..." \n base64("ED" || key id (8) || signature (64))
 *                "trusted comment: TEXT"  \n base64(global signature (64) of signature || TEXT)
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { UserError } from '../errors.ts';

const PUBLIC_KEY_ALGORITHM = 'Ed';
const PREHASHED_ALGORITHM = 'ED';
const LEGACY_ALGORITHM = 'Ed';
const UNTRUSTED_PREFIX = 'untrusted comment: ';
const TRUSTED_PREFIX = 'trusted comment: ';
const KEY_ID_BYTES = 8;

/** A minisign public key: its 8-byte key id and the raw Ed25519 key. */
export interface MinisignPublicKey {
  keyId: Buffer;
  key: KeyObject;
}

/** A parsed signature file. */
export interface MinisignSignature {
  /** Not covered by any signature (minisign's design). */
  untrustedComment: string;
  algorithm: string;
  keyId: Buffer;
  signature: Buffer;
  trustedComment: string;
  globalSignature: Buffer;
}

/** The key id as minisign prints it: the 8 bytes read as a little-endian integer, in upper-case hex. */
export function keyIdText(keyId: Buffer): string {
  return Buffer.from(keyId).reverse().toString('hex').toUpperCase();
}

function rawPublicKey(key: KeyObject): Buffer {
  return Buffer.from(key.export({ format: 'jwk' }).x!, 'base64url');
}

/**
 * minisign draws a key id at random when it makes a key; ours is derived from the public key
 * (the first 8 bytes of its SHA-256) so the same key always has the same id and the public key
 * file can be made again from the private key alone, with no state beside it.
 */
export function derivedKeyId(publicKey: KeyObject): Buffer {
  return createHash('sha256').update(rawPublicKey(publicKey)).digest().subarray(0, KEY_ID_BYTES);
}

/** Reads an Ed25519 private key in PKCS#8 PEM; `where` names the file. Never echoes key bytes. */
export function parsePrivateKey(pem: Buffer, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new UserError(`${where}: not a PEM private key (expected an Ed25519 key in PKCS#8 PEM, keys/README.md)`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new UserError(`${where}: is a ${key.asymmetricKeyType ?? 'unknown'} key, expected Ed25519 (keys/README.md)`);
  }
  return key;
}

/** The public key file minisign reads with `-p`. */
export function publicKeyFile(privateKey: KeyObject): string {
  const publicKey = createPublicKey(privateKey);
  const keyId = derivedKeyId(publicKey);
  const body = Buffer.concat([Buffer.from(PUBLIC_KEY_ALGORITHM, 'latin1'), keyId, rawPublicKey(publicKey)]);
  return `${UNTRUSTED_PREFIX}minisign public key ${keyIdText(keyId)}\n${body.toString('base64')}\n`;
}

/** BLAKE2b-512 of the data, what the prehashed form signs. */
export function prehash(): ReturnType<typeof createHash> {
  return createHash('blake2b512');
}

/** One line of text for a comment: minisign reads line by line. */
function checkCommentText(text: string, what: string): void {
  if (/[\r\n]/.test(text)) throw new UserError(`minisign: ${what} must be one line`);
}

/** The signature file of data whose BLAKE2b-512 is `digest`. */
export function signatureFile(digest: Buffer, privateKey: KeyObject, trustedComment: string, untrustedComment: string): string {
  checkCommentText(trustedComment, 'the trusted comment');
  checkCommentText(untrustedComment, 'the untrusted comment');
  const keyId = derivedKeyId(createPublicKey(privateKey));
  const signature = sign(null, digest, privateKey);
  const globalSignature = sign(null, Buffer.concat([signature, Buffer.from(trustedComment, 'utf8')]), privateKey);
  const body = Buffer.concat([Buffer.from(PREHASHED_ALGORITHM, 'latin1'), keyId, signature]);
  return `${UNTRUSTED_PREFIX}${untrustedComment}\n${body.toString('base64')}\n${TRUSTED_PREFIX}${trustedComment}\n${globalSignature.toString('base64')}\n`;
}

/** The signature file of `data` (held in memory: manifests and sums files). */
export function signBytes(data: Buffer, privateKey: KeyObject, trustedComment: string, untrustedComment: string): string {
  return signatureFile(prehash().update(data).digest(), privateKey, trustedComment, untrustedComment);
}

/** Strict base64 of an exact length: a changed character must not decode to something else silently. */
function decodeLine(line: string | undefined, length: number, where: string, lineNumber: number, what: string): Buffer {
  const text = line ?? '';
  const bytes = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || bytes.toString('base64') !== text || bytes.length !== length) {
    throw new UserError(`${where}:${lineNumber}: not ${what} (expected ${length} bytes in base64)`);
  }
  return bytes;
}

function lines(text: string, count: number, where: string, what: string): string[] {
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  if (all.length < count) throw new UserError(`${where}: not ${what}: ${all.length} lines, expected ${count}`);
  return all.map((line) => line.replace(/\r$/, ''));
}

/** Parses a minisign public key file; `where` names it. */
export function parsePublicKey(text: string, where: string): MinisignPublicKey {
  const [comment, body] = lines(text, 2, where, 'a minisign public key');
  if (!comment!.startsWith(UNTRUSTED_PREFIX)) throw new UserError(`${where}:1: not a minisign public key: expected "${UNTRUSTED_PREFIX}..."`);
  const bytes = decodeLine(body, 2 + KEY_ID_BYTES + 32, where, 2, 'a minisign public key');
  if (bytes.subarray(0, 2).toString('latin1') !== PUBLIC_KEY_ALGORITHM) throw new UserError(`${where}:2: not an Ed25519 minisign public key`);
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: bytes.subarray(10).toString('base64url') }, format: 'jwk' });
  return { keyId: bytes.subarray(2, 10), key };
}

/** Parses a minisign signature file; `where` names it. */
export function parseSignature(text: string, where: string): MinisignSignature {
  const [untrusted, body, trusted, global] = lines(text, 4, where, 'a minisign signature');
  if (!untrusted!.startsWith(UNTRUSTED_PREFIX)) throw new UserError(`${where}:1: not a minisign signature: expected "${UNTRUSTED_PREFIX}..."`);
  const bytes = decodeLine(body, 2 + KEY_ID_BYTES + 64, where, 2, 'a minisign signature');
  const algorithm = bytes.subarray(0, 2).toString('latin1');
  if (algorithm !== PREHASHED_ALGORITHM && algorithm !== LEGACY_ALGORITHM) throw new UserError(`${where}:2: unknown signature algorithm ${JSON.stringify(algorithm)}`);
  if (!trusted!.startsWith(TRUSTED_PREFIX)) throw new UserError(`${where}:3: not a minisign signature: expected "${TRUSTED_PREFIX}..."`);
  return {
    untrustedComment: untrusted!.slice(UNTRUSTED_PREFIX.length),
    algorithm,
    keyId: bytes.subarray(2, 10),
    signature: bytes.subarray(10),
    trustedComment: trusted!.slice(TRUSTED_PREFIX.length),
    globalSignature: decodeLine(global, 64, where, 4, 'a minisign global signature'),
  };
}

/**
 * Checks a parsed signature of data (given as its BLAKE2b-512 `digest` for the prehashed form,
 * or its bytes for the legacy one) against a key. Returns why it fails, or undefined when valid.
 */
export function signatureProblem(signature: MinisignSignature, key: MinisignPublicKey, data: { digest: Buffer; bytes?: Buffer }): string | undefined {
  if (!signature.keyId.equals(key.keyId)) {
    return `signed by key ${keyIdText(signature.keyId)}, not by the given key ${keyIdText(key.keyId)}`;
  }
  const signed = signature.algorithm === PREHASHED_ALGORITHM ? data.digest : data.bytes;
  if (signed === undefined) return 'a legacy (not prehashed) signature of a file too large to read whole';
  if (!verify(null, signed, key.key, signature.signature)) return 'the signature does not match the signed file (changed since signing)';
  const comment = Buffer.concat([signature.signature, Buffer.from(signature.trustedComment, 'utf8')]);
  if (!verify(null, comment, key.key, signature.globalSignature)) return 'the trusted comment was changed since signing';
  return undefined;
}
