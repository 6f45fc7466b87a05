import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../tools/src/lib/repo-root.ts';
import { icosInProcess, tool, toolStatus, useTempDir } from '../support/tools.ts';

/**
 * `icos sign` then `icos verify` on a release folder made with coreutils (sha256sum), checked by
 * Debian's minisign; then one flipped byte in each file of the folder, at its start, middle and
 * end, is named by file (and SHA256SUMS's by minisign too).
 */
const { at } = useTempDir('sign-verify');
const KEY = path.join(REPO_ROOT, 'keys/test-keys/release.key');

function releaseFolder(name: string): string {
  const dir = at(name);
  tool('mkdir', ['-p', dir]);
  tool('sh', ['-c', `head -c 200000 /dev/urandom > "${dir}/disk-img.tar.zst" && echo update > "${dir}/update-img.tar.zst" && cd "${dir}" && sha256sum disk-img.tar.zst update-img.tar.zst > SHA256SUMS`]);
  return dir;
}

describe('icos sign and icos verify', () => {
  it('sign a folder so that minisign -V and icos verify accept it, the same bytes when signed again', async () => {
    const dir = releaseFolder('good');
    const signed = await icosInProcess(['sign', dir, '--key', KEY]);
    expect([signed.code, signed.stderr]).toEqual([0, expect.stringContaining('signed SHA256SUMS (2 files checked)')]);
    expect(readdirSync(dir).sort()).toEqual(['SHA256SUMS', 'SHA256SUMS.minisig', 'disk-img.tar.zst', 'release.pub', 'update-img.tar.zst']);
    const minisign = toolStatus('minisign', ['-V', '-m', path.join(dir, 'SHA256SUMS'), '-p', path.join(dir, 'release.pub')]);
    expect(minisign.status, minisign.stderr).toBe(0);
    const verified = await icosInProcess(['verify', dir, '--key', path.join(dir, 'release.pub')]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/SHA256SUMS \(no release manifest\) signed by key [0-9A-F]{16}; 2 files match/);

    const first = readFileSync(path.join(dir, 'SHA256SUMS.minisig'));
    expect((await icosInProcess(['sign', dir, '--key', KEY])).code).toBe(0);
    expect(readFileSync(path.join(dir, 'SHA256SUMS.minisig'))).toEqual(first);
  });

  it('verify names the file holding one flipped byte, wherever it is', async () => {
    const dir = releaseFolder('flipped');
    // A manifest too, as a Bazel release folder has (the sign command signs the one it finds).
    const sums = readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8');
    const files = ['disk-img.tar.zst', 'update-img.tar.zst', 'SHA256SUMS'].map((name) => {
      const file = path.join(dir, name);
      return { name, sha256: tool('sha256sum', [file]).split(' ')[0], size: readFileSync(file).length };
    });
    writeFileSync(path.join(dir, 'release-manifest.json'), `${JSON.stringify({ env: 'dev', files, format: 'icos release manifest 1', os: 'x', verityRootHashes: {}, version: '1' }, null, 2)}\n`);
    expect((await icosInProcess(['sign', dir, '--key', KEY])).code).toBe(0);
    const pub = at('trusted.pub');
    copyFileSync(path.join(dir, 'release.pub'), pub);
    expect(sums).toBe(readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8'));

    const names = readdirSync(dir).filter((name) => name !== 'release.pub').sort();
    expect(names).toEqual(['SHA256SUMS', 'SHA256SUMS.minisig', 'disk-img.tar.zst', 'release-manifest.json', 'release-manifest.json.minisig', 'update-img.tar.zst']);
    for (const name of names) {
      const file = path.join(dir, name);
      const original = readFileSync(file);
      for (const offset of [0, Math.floor(original.length / 2), original.length - 2]) {
        const changed = Buffer.from(original);
        changed[offset]! ^= 0x01;
        writeFileSync(file, changed);
        const run = await icosInProcess(['verify', dir, '--key', pub]);
        const context = `${name} byte ${offset}: ${run.stderr}`;
        expect(run.code, context).toBe(1);
        expect(run.stderr, context).toContain(`${path.join(dir, name)}`);
        expect(run.stderr, context).not.toMatch(/\n\s+at /);
        if (name === 'SHA256SUMS') expect(toolStatus('minisign', ['-V', '-m', file, '-p', pub]).status, context).not.toBe(0);
        writeFileSync(file, original);
      }
    }
    expect((await icosInProcess(['verify', dir, '--key', pub])).code).toBe(0);
  });
});
