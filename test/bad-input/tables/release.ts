import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BadInputCase, BadInputTable } from '../case.ts';
import { manifestText, signRelease } from '../../../tools/src/kinds/release-signature/release.ts';
import { parsePrivateKey } from '../../../tools/src/signing/minisign.ts';
import { REPO_ROOT } from '../../../tools/src/lib/repo-root.ts';
import { notAFileCases, usageCases } from './common.ts';

/**
 * `icos sign` and `icos verify` on release folders. The good folder is signed here with the
 * public test key: each case changes one thing in it. Failing runs must leave the folder as it was.
 */
const KEY_FILE = path.join(REPO_ROOT, 'keys/test-keys/release.key');
const KEY = parsePrivateKey(readFileSync(KEY_FILE), KEY_FILE);
const OTHER_KEY = generateKeyPairSync('ed25519').privateKey;

const DISK = 'disk bytes\n'.repeat(100);
const UPDATE = 'update bytes\n';
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const SUMS = `${sha(DISK)}  disk-img.tar.zst\n${sha(UPDATE)}  update-img.tar.zst\n`;
const MANIFEST = manifestText({
  os: 'x',
  env: 'dev',
  version: '1',
  files: [
    { name: 'disk-img.tar.zst', sha256: sha(DISK), size: DISK.length },
    { name: 'update-img.tar.zst', sha256: sha(UPDATE), size: UPDATE.length },
    { name: 'SHA256SUMS', sha256: sha(SUMS), size: SUMS.length },
  ],
  verityRootHashes: {},
});
const SIGNED = signRelease(Buffer.from(SUMS), Buffer.from(MANIFEST), KEY);

/** The files of a release folder `rel/` (unsigned: sign's input), with overrides; undefined removes one. */
function folder(overrides: Record<string, string | undefined> = {}, signed = false): Record<string, string> {
  const files: Record<string, string | undefined> = {
    'disk-img.tar.zst': DISK,
    'update-img.tar.zst': UPDATE,
    SHA256SUMS: SUMS,
    'release-manifest.json': MANIFEST,
    ...(signed ? { 'SHA256SUMS.minisig': SIGNED.sumsSignature, 'release-manifest.json.minisig': SIGNED.manifestSignature!, 'release.pub': SIGNED.publicKey } : {}),
    ...overrides,
  };
  return Object.fromEntries(Object.entries(files).flatMap(([name, text]) => (text === undefined ? [] : [[`rel/${name}`, text]])));
}

const flip = (text: string, at: number) => text.slice(0, at) + String.fromCharCode(text.charCodeAt(at) ^ 1) + text.slice(at + 1);

const SIGN_GOOD = ['{case}/rel', '--key', KEY_FILE];
function sign(name: string, files: Record<string, string>, message: RegExp, key = KEY_FILE): BadInputCase {
  return { name, args: ['sign', '{case}/rel', '--key', key], status: 1, message, files };
}

const VERIFY_GOOD = ['{case}/rel', '--key', '{case}/rel/release.pub'];
function verify(name: string, overrides: Record<string, string | undefined>, message: RegExp, key = '{case}/rel/release.pub'): BadInputCase {
  return { name, args: ['verify', '{case}/rel', '--key', key], status: 1, message, files: folder(overrides, true) };
}

export const signTable: BadInputTable = {
  command: 'sign',
  cases: [
    ...usageCases('sign', SIGN_GOOD, '--key').map((c) => ({ ...c, files: folder() })),
    ...notAFileCases('--key', (v) => ['sign', '{case}/rel', '--key', v]).map((c) => ({ ...c, files: folder() })),
    { name: 'a missing folder', args: ['sign', '{case}/nothing', '--key', KEY_FILE], status: 1, message: /release folder ".*nothing": cannot be read: no such file/ },
    sign('a folder that is a file', { rel: 'x' }, /release folder ".*rel": is a regular file, expected a directory/),
    sign('an RSA key', folder(), /db\.key.*is a rsa key, expected Ed25519/, path.join(REPO_ROOT, 'keys/test-keys/db.key')),
    sign('a key file that is no key', { ...folder(), 'junk.key': 'not a key\n' }, /junk\.key.*not a PEM private key/, '{case}/junk.key'),
    sign('no SHA256SUMS', folder({ SHA256SUMS: undefined, 'release-manifest.json': undefined }), /rel\/SHA256SUMS: cannot be read: no such file/),
    sign('a SHA256SUMS line that is no sum', folder({ SHA256SUMS: `${SUMS}junk\n` }), /rel\/SHA256SUMS:3: "junk": expected "<sha256 in hex>  <file name>"/),
    sign('a SHA256SUMS naming a file outside the folder', folder({ SHA256SUMS: `${sha(DISK)}  ../disk-img.tar.zst\n`, 'release-manifest.json': undefined }), /SHA256SUMS:1:/),
    sign('a SHA256SUMS listing a missing file', folder({ 'update-img.tar.zst': undefined, 'release-manifest.json': undefined }), /rel\/update-img\.tar\.zst: cannot be read: no such file.*\(listed in SHA256SUMS\)/),
    sign('a file changed since SHA256SUMS', folder({ 'disk-img.tar.zst': flip(DISK, 500) }), /rel\/disk-img\.tar\.zst: changed: sha256 [0-9a-f]{64}, (SHA256SUMS|release-manifest\.json) says/),
    sign('a manifest that is no JSON', folder({ 'release-manifest.json': '{' }), /rel\/release-manifest\.json: not JSON/),
    sign('a manifest with a wrong size', folder({ 'release-manifest.json': MANIFEST.replace(`"size": ${UPDATE.length}`, '"size": 1') }), /update-img\.tar\.zst: is 13 bytes, release-manifest\.json says 1/),
    sign('a manifest disagreeing with SHA256SUMS', folder({ 'release-manifest.json': MANIFEST.replace(sha(DISK), '0'.repeat(64)) }), /release-manifest\.json: says "disk-img\.tar\.zst" has sha256 0{64}, SHA256SUMS says/),
  ],
};

export const verifyTable: BadInputTable = {
  command: 'verify',
  cases: [
    ...usageCases('verify', VERIFY_GOOD, '--key').map((c) => ({ ...c, files: folder({}, true) })),
    ...notAFileCases('--key', (v) => ['verify', '{case}/rel', '--key', v]).map((c) => ({ ...c, files: folder({}, true) })),
    { name: 'a missing folder', args: ['verify', '{case}/nothing', '--key', '{case}/nothing.pub'], status: 1, message: /release folder ".*nothing": cannot be read: no such file/ },
    verify('a key file that is no minisign key', { 'other.pub': 'untrusted comment: x\nnot base64!\n' }, /other\.pub:2: not a minisign public key/, '{case}/rel/other.pub'),
    verify('another key', { 'other.pub': signRelease(Buffer.from(SUMS), undefined, OTHER_KEY).publicKey }, /SHA256SUMS\.minisig: does not verify .*rel\/SHA256SUMS: signed by key [0-9A-F]{16}, not by the given key/, '{case}/rel/other.pub'),
    verify('no signature of SHA256SUMS', { 'SHA256SUMS.minisig': undefined }, /rel\/SHA256SUMS\.minisig: cannot be read: no such file/),
    verify('no signature of the manifest', { 'release-manifest.json.minisig': undefined }, /rel\/release-manifest\.json\.minisig: cannot be read: no such file/),
    verify('a signature that is not minisign\'s', { 'SHA256SUMS.minisig': 'hello\n' }, /SHA256SUMS\.minisig: not a minisign signature/),
    verify('a byte changed in SHA256SUMS', { SHA256SUMS: flip(SUMS, 10) }, /rel\/SHA256SUMS\.minisig: does not verify .*rel\/SHA256SUMS: the signature does not match/),
    verify('a byte changed in the manifest', { 'release-manifest.json': flip(MANIFEST, 40) }, /rel\/release-manifest\.json\.minisig: does not verify .*rel\/release-manifest\.json: the signature does not match/),
    verify('a byte changed in the trusted comment', { 'SHA256SUMS.minisig': SIGNED.sumsSignature.replace('file:SHA256SUMS', 'file:SHA256SUMT') }, /SHA256SUMS\.minisig: does not verify .*SHA256SUMS: the trusted comment was changed/),
    verify('a byte changed in a release file', { 'disk-img.tar.zst': flip(DISK, 700) }, /rel\/disk-img\.tar\.zst: changed: sha256 [0-9a-f]{64}, (SHA256SUMS|release-manifest\.json) says/),
    verify('a release file missing', { 'update-img.tar.zst': undefined }, /rel\/update-img\.tar\.zst: cannot be read: no such file/),
    verify('a byte changed in the untrusted comment', { 'SHA256SUMS.minisig': SIGNED.sumsSignature.replace('from icos', 'from icoz') }, /SHA256SUMS\.minisig: does not verify .*: its untrusted comment is not icos's/),
    {
      ...verify('a release.pub in the folder that is not the trusted key', { 'release.pub': signRelease(Buffer.from(SUMS), undefined, OTHER_KEY).publicKey }, /rel\/release\.pub: differs from the trusted key .*trusted\.pub/, '{case}/trusted.pub'),
      files: { ...folder({ 'release.pub': signRelease(Buffer.from(SUMS), undefined, OTHER_KEY).publicKey }, true), 'trusted.pub': SIGNED.publicKey },
    },
    verify('a release file grown by a byte', { 'update-img.tar.zst': `${UPDATE}x` }, /rel\/update-img\.tar\.zst: is 14 bytes, release-manifest\.json says 13/),
  ],
};
