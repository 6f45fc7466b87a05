import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { icosInProcess, tool, useTempDir } from '../../../test/support/tools.ts';

/**
 * The `minisign-public-key` kind through `icos build --manifest`, as the Bazel rule runs it. The key
 * it writes is checked against OpenSSL's public half of the same private key, and by minisign.
 */
const { at } = useTempDir('minisign-public-key');
const TEST_KEYS = path.join(REPO_ROOT, 'keys/test-keys');
let counter = 0;

function build(keys: object) {
  counter += 1;
  const out = at(`upgrade-${counter}.pub`);
  const manifest = { kind: 'minisign-public-key', out, options: { artifact: '//envs/x/dev:upgrade-key.pub', keys } };
  writeFileSync(at(`build-${counter}.json`), JSON.stringify(manifest));
  return { out, run: icosInProcess(['build', '--manifest', at(`build-${counter}.json`)]) };
}

describe('the minisign-public-key kind', () => {
  it("writes release.key's public key in minisign's format: OpenSSL's public half, the key id its sha256's head", async () => {
    const { out, run } = build({ dir: TEST_KEYS, external: false });
    expect(await run).toMatchObject({ code: 0, stderr: '' });
    const [comment, body] = readFileSync(out, 'utf8').split('\n');
    const bytes = Buffer.from(body!, 'base64');
    const der = tool('sh', ['-c', `openssl pkey -in "${path.join(TEST_KEYS, 'release.key')}" -pubout -outform DER | base64 -w0`]);
    const raw = Buffer.from(der, 'base64').subarray(-32);
    expect(bytes.subarray(0, 2).toString('latin1')).toBe('Ed');
    expect(bytes.subarray(10).equals(raw)).toBe(true);
    const keyId = createHash('sha256').update(raw).digest().subarray(0, 8);
    expect(bytes.subarray(2, 10).equals(keyId)).toBe(true);
    expect(comment).toBe(`untrusted comment: minisign public key ${Buffer.from(keyId).reverse().toString('hex').toUpperCase()}`);
  });

  it('is the key minisign checks a release signature of the same key with', async () => {
    const { out, run } = build({ dir: TEST_KEYS, external: false });
    expect((await run).code).toBe(0);
    const release = at('release');
    tool('mkdir', ['-p', release]);
    writeFileSync(path.join(release, 'a.txt'), 'a\n');
    writeFileSync(path.join(release, 'SHA256SUMS'), tool('sh', ['-c', `cd "${release}" && sha256sum a.txt`]));
    expect((await icosInProcess(['sign', release, '--key', path.join(TEST_KEYS, 'release.key')])).code).toBe(0);
    tool('minisign', ['-Vm', path.join(release, 'SHA256SUMS'), '-p', out]);
    expect(readFileSync(out)).toEqual(readFileSync(path.join(release, 'release.pub')));
  });

  it.each([
    ['a prod build without its key directory', { dir: '', external: true }, /upgrade-key\.pub\): prod signing needs its keys: build with --define=ICOS_SIGNING_KEYS/],
    ['a key directory without release.key', { dir: REPO_ROOT, external: true }, /release\.key: missing or unreadable: the key directory of --define=ICOS_SIGNING_KEYS must hold release\.key/],
    ['a dev-malicious image with prod keys', { dir: TEST_KEYS, external: true, malicious: true }, /a dev-malicious image is never signed with external \(prod\) keys/],
  ])('refuses %s and writes nothing', async (_, keys, message) => {
    const { out, run } = build(keys);
    const result = await run;
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(1);
    expect(existsSync(out)).toBe(false);
  });
});
