import { createPublicKey } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readdir, readFile, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExecaCommandRunner } from '../../tools/src/infra/execa-command-runner.ts';
import { REPO_ROOT } from '../../tools/src/lib/repo-root.ts';
import { KEY_FILES, makeProdKeyDir, signingKeysDefine } from '../support/prod-keys.ts';
import { icosInProcess, spawnAsync, toolAsync, toolStatus } from '../support/tools.ts';

/**
 * Prod keys never reach an output, the Bazel output base, the disk cache or a log (issue 11).
 * test/build-example/prod is built in an output base and disk cache of its own with a key
 * directory generated just now outside the checkout, then every byte there is searched for the
 * key material of every private key of the directory: lines of its PEM or armored text, and
 * secret windows of its binary form. The same search over the key directory itself must find
 * them all (so it can fail). A build without the key directory fails naming ICOS_SIGNING_KEYS
 * and leaves no signature behind. Bazel runs here: left out of the //:vitest targets.
 */

const TARGET = '//test/build-example/prod:example-prod';
const PACKAGE = 'test/build-example/prod';
/** Public halves: legitimately in images (GRUB embeds grub.pub, OVMF variables hold the certificates). */
const PUBLIC_FILES = new Set(['grub.pub', 'db.crt', 'pk.crt', 'kek.crt']);

const scratch = mkdtempSync(path.join(tmpdir(), 'icos-test-key-hygiene-'));
const keyDir = path.join(scratch, 'keys');
const outputBase = path.join(scratch, 'output-base');
const diskCache = path.join(scratch, 'disk-cache');

/** The client environment, as env-build passes it; Bazel's own logs go to the output base. */
function bazelEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['HOME', 'USER', 'PATH', 'DOCKER_HOST']) if (process.env[name] !== undefined) env[name] = process.env[name];
  return env;
}

function bazel(args: string[]) {
  return spawnAsync('bazel', [`--output_base=${outputBase}`, '--max_idle_secs=120', ...args], { cwd: REPO_ROOT, env: bazelEnv() });
}

function buildArgs(defines: string[]) {
  return ['build', '--symlink_prefix=/', `--disk_cache=${diskCache}`, ...defines, TARGET];
}

afterAll(async () => {
  await bazel(['shutdown']);
  // Bazel leaves its outputs read-only.
  await toolAsync('chmod', ['-R', 'u+w', scratch]).catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

interface Needle {
  what: string;
  bytes: Buffer;
}

/** The base64 body of a PEM or ASCII-armored file, decoded (armor headers and checksum left out). */
function bodyLines(text: string): string[] {
  return text.split('\n').filter((line) => /^[A-Za-z0-9+/]{40,}={0,2}$/.test(line));
}

/**
 * 32-byte windows of `secret` that occur nowhere in `publicBytes`: bytes only the private key has.
 * A long key's first third is left out: container headers and the public modulus (RSA PKCS#8,
 * OpenPGP's public part); its secret numbers come after.
 */
function secretWindows(secret: Buffer, publicBytes: Buffer): Buffer[] {
  const windows: Buffer[] = [];
  for (let at = secret.length > 256 ? Math.floor(secret.length / 3) : 0; at + 32 <= secret.length; at += 16) {
    const window = secret.subarray(at, at + 32);
    if (publicBytes.indexOf(window) === -1) windows.push(window);
  }
  const pick = [0, Math.floor(windows.length / 3), Math.floor((2 * windows.length) / 3), windows.length - 1];
  return [...new Set(pick)].map((index) => windows[index]!).filter(Boolean);
}

function publicHalf(file: string): Buffer {
  if (file === 'release.key') return createPublicKey(readFileSync(path.join(keyDir, file))).export({ format: 'der', type: 'spki' });
  const name = file === 'grub.key.asc' ? 'grub.pub' : file.replace(/\.key$/, '.crt');
  const bytes = readFileSync(path.join(keyDir, name));
  return name.endsWith('.crt') ? Buffer.from(bodyLines(bytes.toString('latin1')).join(''), 'base64') : bytes;
}

function needlesOf(file: string): Needle[] {
  const text = readFileSync(path.join(keyDir, file), 'latin1');
  const lines = bodyLines(text);
  const binary = Buffer.from(lines.join(''), 'base64');
  const textNeedles = [...new Set([0, Math.floor(lines.length / 2), lines.length - 1])].map((i) => ({ what: `${file} text line ${i + 1}`, bytes: Buffer.from(lines[i]!) }));
  const binaryNeedles = secretWindows(binary, publicHalf(file)).map((bytes, i) => ({ what: `${file} secret bytes #${i + 1}`, bytes }));
  return [...textNeedles, ...binaryNeedles];
}

/** Every regular file under `dir` (symbolic links not followed: they lead out, to the checkout or /usr). */
async function regularFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await regularFiles(full)));
    else if (entry.isFile()) found.push(full);
  }
  return found;
}

const runner = new ExecaCommandRunner({ info: () => {}, verbose: () => {}, warn: () => {} });

/** What zstd unpacks from a file (the packed images, and the disk cache's copies of them). */
async function unzstd(file: string): Promise<Buffer> {
  const run = runner.stream('zstd', ['-dc', file], { artifact: file });
  const chunks: Buffer[] = [];
  for await (const chunk of run.stdout) chunks.push(chunk as Buffer);
  await run.done;
  return Buffer.concat(chunks);
}

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** "needle in file" for every hit; gzip and zstd files (profile, packed images) are searched unpacked too. */
async function search(files: string[], needles: Needle[]): Promise<string[]> {
  const hits: string[] = [];
  for (const file of files) {
    let bytes = await readFile(file);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = Buffer.concat([bytes, gunzipSync(bytes)]);
    if (bytes.subarray(0, 4).equals(ZSTD_MAGIC)) bytes = Buffer.concat([bytes, await unzstd(file)]);
    for (const needle of needles) if (bytes.indexOf(needle.bytes) !== -1) hits.push(`${needle.what} in ${file}`);
  }
  return hits;
}

describe('a prod build with keys given from outside', () => {
  let needles: Needle[] = [];
  let console1 = '';
  let build1 = -1;

  beforeAll(async () => {
    await makeProdKeyDir(keyDir);
    needles = KEY_FILES.filter((file) => !PUBLIC_FILES.has(file)).flatMap(needlesOf);
    const run = await bazel(buildArgs([signingKeysDefine(keyDir)]));
    build1 = run.status;
    console1 = run.stdout + run.stderr;
  }, 900_000);

  it('signs the release so that minisign -V and icos verify accept it', async () => {
    expect(build1, console1.slice(-4000)).toBe(0);
    const bin = (await bazel(['info', 'bazel-bin'])).stdout.trim();
    const release = path.join(bin, PACKAGE);
    const minisign = toolStatus('minisign', ['-V', '-m', path.join(release, 'SHA256SUMS'), '-p', path.join(release, 'release.pub')]);
    expect(minisign.status, minisign.stderr).toBe(0);
    expect(minisign.stdout).toMatch(/Trusted comment: icos release guestos prod \S+ file:SHA256SUMS/);
    const verified = await icosInProcess(['verify', release, '--key', path.join(release, 'release.pub')]);
    expect(verified.code, verified.stderr).toBe(0);
  }, 120_000);

  it('leaves no key material in the outputs, the output base, the disk cache or Bazel\'s logs', async () => {
    expect(build1, console1.slice(-4000)).toBe(0);
    // The search can fail: every needle is found in the key directory and in the binary forms
    // openssl and gpg give of its keys (DER, dearmored OpenPGP).
    const control = path.join(scratch, 'control');
    await toolAsync('mkdir', ['-m', '700', control]);
    for (const file of KEY_FILES.filter((name) => name.endsWith('.key'))) {
      await toolAsync('openssl', ['pkey', '-in', path.join(keyDir, file), '-outform', 'DER', '-out', path.join(control, `${file}.der`)]);
    }
    await toolAsync('gpg', ['--homedir', control, '--batch', '--output', path.join(control, 'grub.key.gpg'), '--dearmor', path.join(keyDir, 'grub.key.asc')]);
    const controlFiles = [...(await regularFiles(keyDir)), ...(await regularFiles(control))];
    const found = new Set((await search(controlFiles, needles)).map((hit) => hit.split(' in ')[0]));
    expect(needles.map((n) => n.what).filter((what) => !found.has(what))).toEqual([]);
    expect(needles.length).toBeGreaterThanOrEqual(5 * 4);
    // ... and inside a zstd-compressed copy (packed images are compressed).
    await toolAsync('zstd', ['-q', '-o', path.join(control, 'db.key.zst'), path.join(keyDir, 'db.key')]);
    expect(await search([path.join(control, 'db.key.zst')], needles.filter((n) => n.what.startsWith('db.key text')))).toHaveLength(3);

    const files = [...(await regularFiles(outputBase)), ...(await regularFiles(diskCache))];
    const logs = [path.join(outputBase, 'command.log'), await realpath(path.join(outputBase, 'java.log'))];
    for (const log of logs) expect(files, `${log} searched`).toContain(log);
    expect(files.length).toBeGreaterThan(50);
    const packed = files.filter((file) => /\.(tzst|tar\.zst)$/.test(file));
    expect(packed.map((file) => path.basename(file))).toEqual(expect.arrayContaining(['disk-img.tar.zst', 'partition-root.tzst']));
    expect(await search(files, needles)).toEqual([]);
    // The signing action (tagged no-cache) left nothing in the disk cache: not even its public outputs.
    const bin = (await bazel(['info', 'bazel-bin'])).stdout.trim();
    const signature = { what: 'SHA256SUMS.minisig', bytes: readFileSync(path.join(bin, PACKAGE, 'SHA256SUMS.minisig')) };
    expect(await search(await regularFiles(diskCache), [signature])).toEqual([]);
    const consoleHits = needles.filter((needle) => Buffer.from(console1, 'utf8').indexOf(needle.bytes) !== -1).map((n) => n.what);
    expect(consoleHits).toEqual([]);
  }, 300_000);

  it('fails without --define=ICOS_SIGNING_KEYS, naming it, and leaves no output of the refusing step', async () => {
    expect(build1, console1.slice(-4000)).toBe(0);
    const run = await bazel(buildArgs([]));
    const output = run.stdout + run.stderr;
    expect(run.status, output.slice(-4000)).toBe(1);
    expect(output).toMatch(/prod signing needs its keys: build with --define=ICOS_SIGNING_KEYS=\/absolute\/dir/);
    // Whichever signing step Bazel ran first refused (GRUB's loader or signatures, the release
    // signature); the message names its output, which must be gone, not left from the build before.
    const refused = [...output.matchAll(/icos: [\w-]+\(([^)]+)\): prod signing needs its keys/g)].map((match) => match[1]!);
    expect(refused.length).toBeGreaterThan(0);
    const bin = (await bazel(['info', 'bazel-bin'])).stdout.trim();
    const left = refused.filter((name) => existsSync(path.join(bin, PACKAGE, name)));
    expect(left).toEqual([]);
    expect(readdirSync(path.join(bin, PACKAGE)).filter((name) => name.includes('.partial-'))).toEqual([]);
    // Nor did that failure bring key material anywhere.
    expect(needles.filter((needle) => Buffer.from(output).indexOf(needle.bytes) !== -1)).toEqual([]);
    expect(await search([path.join(outputBase, 'command.log')], needles)).toEqual([]);
  }, 600_000);
});
