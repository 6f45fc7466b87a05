import { readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { tool, toolStatus, useTempDir } from '../../../test/support/tools.ts';
import { parsePrivateKey, parsePublicKey, parseSignature, prehash, publicKeyFile, signBytes, signatureProblem } from './minisign.ts';

/** Checked with Debian's minisign both ways: it verifies ours, we verify its. */
const { at } = useTempDir('minisign');
const KEY_FILE = path.join(REPO_ROOT, 'keys/test-keys/release.key');
const key = parsePrivateKey(readFileSync(KEY_FILE), KEY_FILE);

function minisignVerify(file: string, pub: string, sig = `${file}.minisig`) {
  return toolStatus('minisign', ['-V', '-H', '-m', file, '-p', pub, '-x', sig]);
}

describe('minisign signatures', () => {
  it('are accepted by minisign -V, with their trusted comment, and refused after one changed byte', () => {
    const data = Buffer.from('some release bytes\n'.repeat(1000));
    writeFileSync(at('data'), data);
    writeFileSync(at('data.minisig'), signBytes(data, key, 'icos release x dev 1 file:data', 'test'));
    writeFileSync(at('key.pub'), publicKeyFile(key));
    const good = minisignVerify(at('data'), at('key.pub'));
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout).toContain('Trusted comment: icos release x dev 1 file:data');

    data[500]! ^= 1;
    writeFileSync(at('data'), data);
    expect(minisignVerify(at('data'), at('key.pub')).status).not.toBe(0);
  });

  it('are the same bytes every time (Ed25519 is deterministic)', () => {
    const data = Buffer.from('same input');
    expect(signBytes(data, key, 'c', 'u')).toBe(signBytes(data, key, 'c', 'u'));
    expect(publicKeyFile(key)).toBe(publicKeyFile(parsePrivateKey(readFileSync(KEY_FILE), KEY_FILE)));
  });

  it('name the key by the first 8 bytes of the SHA-256 of the raw public key (openssl\'s DER, last 32 bytes)', () => {
    const der = Buffer.from(tool('sh', ['-c', `openssl pkey -in "${KEY_FILE}" -pubout -outform DER | base64 -w0`]), 'base64');
    const expected = createHash('sha256').update(der.subarray(-32)).digest().subarray(0, 8);
    const pub = publicKeyFile(key);
    expect(Buffer.from(pub.split('\n')[1]!, 'base64').subarray(2, 10)).toEqual(expected);
    expect(pub).toMatch(new RegExp(`^untrusted comment: minisign public key ${Buffer.from(expected).reverse().toString('hex').toUpperCase()}\\n`));
  });

  it('made by minisign itself verify here, and fail after a change to the file or the trusted comment', () => {
    tool('minisign', ['-G', '-W', '-f', '-p', at('theirs.pub'), '-s', at('theirs.key')]);
    writeFileSync(at('signed'), 'signed by minisign\n');
    tool('minisign', ['-S', '-W', '-s', at('theirs.key'), '-m', at('signed'), '-t', 'their comment']);
    const theirKey = parsePublicKey(readFileSync(at('theirs.pub'), 'utf8'), 'theirs.pub');
    const signature = parseSignature(readFileSync(at('signed.minisig'), 'utf8'), 'signed.minisig');
    const digest = (bytes: Buffer) => ({ bytes, digest: prehash().update(bytes).digest() });
    expect(signatureProblem(signature, theirKey, digest(Buffer.from('signed by minisign\n')))).toBeUndefined();
    expect(signatureProblem(signature, theirKey, digest(Buffer.from('signed by minisigm\n')))).toMatch(/changed since signing/);
    expect(signatureProblem({ ...signature, trustedComment: 'other' }, theirKey, digest(Buffer.from('signed by minisign\n')))).toMatch(/trusted comment/);
    const ours = parsePublicKey(publicKeyFile(key), 'ours.pub');
    expect(signatureProblem(signature, ours, digest(Buffer.from('signed by minisign\n')))).toMatch(/^signed by key [0-9A-F]{16}, not by the given key/);
  });

  it('refuse a key that is not Ed25519 and malformed files, naming the file and line', () => {
    const rsa = path.join(REPO_ROOT, 'keys/test-keys/db.key');
    expect(() => parsePrivateKey(readFileSync(rsa), 'db.key')).toThrow(/^db\.key: is a rsa key, expected Ed25519/);
    expect(() => parsePrivateKey(Buffer.from('junk'), 'k')).toThrow(/^k: not a PEM private key/);
    const pub = publicKeyFile(key).split('\n');
    expect(() => parsePublicKey(`${pub[0]}\n${pub[1]!.slice(0, -2)}#=\n`, 'p.pub')).toThrow(/^p\.pub:2: not a minisign public key/);
    expect(() => parseSignature('untrusted comment: x\n', 's.minisig')).toThrow(/^s\.minisig: not a minisign signature: 1 lines, expected 4/);
  });
});
