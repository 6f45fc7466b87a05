import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { icosInProcess, sha256sum, tool, toolStatus, useTempDir } from '../../../test/support/tools.ts';

/**
 * The `release-signature` kind through `icos build --manifest`, as the Bazel rule runs it. The
 * signatures are checked by Debian's minisign, the manifest's sums by coreutils.
 */
const { at } = useTempDir('release-signature');
const TEST_KEYS = path.join(REPO_ROOT, 'keys/test-keys');
let counter = 0;

/** A release folder's inputs (two files, SHA256SUMS by sha256sum) and the manifest of a build into out-N/. */
function setUp(keys: object = { dir: TEST_KEYS, external: false }, sums?: string) {
  counter += 1;
  const dir = at(`case-${counter}`);
  const out = path.join(dir, 'out');
  tool('mkdir', ['-p', out]);
  writeFileSync(path.join(dir, 'disk-img.tar.zst'), Buffer.alloc(300_000, 7));
  writeFileSync(path.join(dir, 'update-img.tar.zst'), 'update\n');
  writeFileSync(path.join(dir, 'version.txt'), '1234abcd\n');
  writeFileSync(path.join(dir, 'partition-root-hash'), `${'ab'.repeat(32)}\n`);
  writeFileSync(path.join(dir, 'SHA256SUMS'), sums ?? tool('sh', ['-c', `cd "${dir}" && sha256sum disk-img.tar.zst update-img.tar.zst`]));
  const manifest = {
    kind: 'release-signature',
    out: path.join(out, 'SHA256SUMS.minisig'),
    outs: {
      manifest: path.join(out, 'release-manifest.json'),
      manifestSignature: path.join(out, 'release-manifest.json.minisig'),
      publicKey: path.join(out, 'release.pub'),
    },
    options: {
      artifact: '//envs/x/dev:release-signature',
      os: 'x',
      env: 'dev',
      version: path.join(dir, 'version.txt'),
      files: [path.join(dir, 'disk-img.tar.zst'), path.join(dir, 'update-img.tar.zst')],
      sums: path.join(dir, 'SHA256SUMS'),
      rootHashes: { 'partition-root.tzst': path.join(dir, 'partition-root-hash') },
      keys,
    },
  };
  writeFileSync(path.join(dir, 'build.json'), JSON.stringify(manifest));
  return { dir, out, build: () => icosInProcess(['build', '--manifest', path.join(dir, 'build.json')]) };
}

describe('the release-signature kind', () => {
  it('writes a manifest with sorted keys and every file\'s sha256 and size, and signatures minisign -V accepts', async () => {
    const { dir, out, build } = setUp();
    const run = await build();
    expect([run.code, run.stderr]).toEqual([0, '']);
    const text = readFileSync(path.join(out, 'release-manifest.json'), 'utf8');
    const manifest = JSON.parse(text);
    expect(Object.keys(manifest)).toEqual(['env', 'files', 'format', 'os', 'verityRootHashes', 'version']);
    expect(manifest).toMatchObject({ env: 'dev', os: 'x', version: '1234abcd', verityRootHashes: { 'partition-root.tzst': 'ab'.repeat(32) } });
    expect(manifest.files).toEqual(
      ['SHA256SUMS', 'disk-img.tar.zst', 'update-img.tar.zst'].map((name) => ({
        name,
        sha256: sha256sum(path.join(dir, name)),
        size: Number(tool('stat', ['-c', '%s', path.join(dir, name)])),
      })),
    );
    for (const file of ['SHA256SUMS', 'release-manifest.json']) {
      const signature = `${file}.minisig`;
      const signed = file === 'SHA256SUMS' ? path.join(dir, file) : path.join(out, file);
      const verified = toolStatus('minisign', ['-V', '-H', '-m', signed, '-x', path.join(out, signature), '-p', path.join(out, 'release.pub')]);
      expect(verified.status, verified.stderr).toBe(0);
      expect(verified.stdout).toContain(`Trusted comment: icos release x dev 1234abcd file:${file}`);
    }
  });

  it('gives byte-identical outputs when run twice on the same inputs', async () => {
    const first = setUp();
    const second = setUp();
    expect((await first.build()).code).toBe(0);
    expect((await second.build()).code).toBe(0);
    for (const name of ['SHA256SUMS.minisig', 'release-manifest.json.minisig', 'release.pub']) {
      expect(readFileSync(path.join(second.out, name)), name).toEqual(readFileSync(path.join(first.out, name)));
    }
  });

  it('refuses a SHA256SUMS that disagrees with a file, writing nothing', async () => {
    const { out, build } = setUp(undefined, `${'0'.repeat(64)}  disk-img.tar.zst\n${'1'.repeat(64)}  update-img.tar.zst\n`);
    const run = await build();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/SHA256SUMS: says "disk-img.tar.zst" has sha256 0{64}, the file has [0-9a-f]{64}/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('with external keys: refuses a build without --define=ICOS_SIGNING_KEYS, and a dev-malicious image, writing nothing', async () => {
    const missing = setUp({ dir: '', external: true });
    const run = await missing.build();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/prod signing needs its keys: build with --define=ICOS_SIGNING_KEYS=/);
    expect(readdirSync(missing.out)).toEqual([]);

    const malicious = setUp({ dir: TEST_KEYS, external: true, malicious: true });
    const refused = await malicious.build();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/a dev-malicious image is never signed with external \(prod\) keys/);
    expect(readdirSync(malicious.out)).toEqual([]);
  });

  it('names a key directory without release.key, and a manifest without the further outputs', async () => {
    const empty = setUp({ dir: at('.'), external: true });
    const run = await empty.build();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/release\.key: missing or unreadable: the key directory of --define=ICOS_SIGNING_KEYS must hold release\.key/);
    expect(readdirSync(empty.out)).toEqual([]);

    const { dir, out } = setUp();
    const manifest = JSON.parse(readFileSync(path.join(dir, 'build.json'), 'utf8'));
    delete manifest.outs;
    writeFileSync(path.join(dir, 'build.json'), JSON.stringify(manifest));
    const noOuts = await icosInProcess(['build', '--manifest', path.join(dir, 'build.json')]);
    expect(noOuts.stderr).toMatch(/release-signature: further outputs none given: expected manifest, manifestSignature, publicKey/);
    expect(existsSync(path.join(out, 'SHA256SUMS.minisig'))).toBe(false);
  });
});
