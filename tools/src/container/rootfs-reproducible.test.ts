import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnv } from '../../../test/support/env-build.ts';
import { startTestRegistry, type TestRegistry } from '../../../test/support/registry.ts';
import { runIcosAsync, sha256sum, toolAsync } from '../../../test/support/tools.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { exportBases } from './base-archive.ts';
import { basePinFile, type PinnedReference } from './base-pins.ts';
import { readEffectivePin } from './local-base.ts';

// Integration: the pinned GuestOS dev base, exported and imported into a second, empty registry,
// keeps its digest, and the root filesystem built from that registry is the same bytes as the one
// Bazel built from the first (shared with the other suites). Needs tools/services.sh's engine
// and registry, skopeo and docker-registry. A machine whose registry never had the pinned image
// builds on a stand-in (`icos base ensure`, *.local); `icos base export` refuses that (tested in
// base-archive-auth.test.ts), so the round trip carries the stand-in through the same export code.
const MINUTES = 60_000;
let work: string;
let second: TestRegistry;
let bazelRootfs: string;
let archive: string;
let exported: string;
/** The base this checkout builds on here: the pinned one, or the machine's stand-in. */
let base: PinnedReference;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'icos-rootfs-repro-'));
  second = await startTestRegistry();
  bazelRootfs = (await buildEnv({ os: 'guestos', env: 'dev', unpack: [] })).output('rootfs-tree.tar');
  archive = path.join(work, 'bases.tar');
  const effective = await readEffectivePin(basePinFile('guestos', 'dev'));
  base = effective.use;
  if (effective.local === undefined) {
    exported = await icos(['base', 'export', '--os', 'guestos', '--env', 'dev', '--out', archive]);
  } else {
    console.log(`rootfs-reproducible: the registry lacks the pinned ${effective.tracked.reference}: carrying the stand-in ${base.reference}`);
    const pinFile = path.join(work, 'docker-base.dev');
    await writeFile(pinFile, `${base.reference}\n`);
    const quiet = { info: () => undefined, warn: () => undefined, verbose: () => undefined };
    exported = (await exportBases([pinFile], archive, { runner: new ExecaCommandRunner(quiet), log: quiet })).map((pin) => `${pin.reference}\n`).join('');
  }
}, 60 * MINUTES);

afterAll(async () => {
  await second?.stop();
  await rm(work, { recursive: true, force: true });
});

async function icos(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const result = await runIcosAsync(args, { env });
  if (result.status !== 0) throw new Error(`icos ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

describe('pinned bases carried to another registry (icos base export/import)', () => {
  it('keep their digest, and give the same rootfs bytes as the first registry', async () => {
    const pinned = base;
    expect(exported).toBe(`${pinned.reference}\n`);
    await icos(['base', 'import', '--archive', archive], { ICOS_REGISTRY: second.host });

    // The registry's own API and skopeo, not icos, say which digest the second registry serves.
    const head = await toolAsync('curl', [
      '-fsSI',
      '-H',
      'Accept: application/vnd.docker.distribution.manifest.v2+json',
      `http://${second.host}/v2/${pinned.repository}/manifests/${pinned.digest}`,
    ]);
    expect(head).toMatch(new RegExp(`^Docker-Content-Digest: ${pinned.digest}\\r?$`, 'im'));
    const raw = path.join(work, 'manifest.json');
    await toolAsync('sh', ['-c', `skopeo inspect --raw --tls-verify=false docker://${second.host}/${pinned.reference} > ${raw}`]);
    expect(`sha256:${sha256sum(raw)}`).toBe(pinned.digest);

    const fromSecond = path.join(work, 'second.tar');
    await icos(['rootfs', '--os', 'guestos', '--env', 'dev', '--out', fromSecond], { ICOS_REGISTRY: second.host });
    expect(sha256sum(fromSecond)).toBe(sha256sum(bazelRootfs));
  }, 30 * MINUTES);

  it('refuses an archive whose manifest does not have the digest its index names, pushing nothing', async () => {
    const forged = path.join(work, 'forged');
    await toolAsync('sh', ['-c', `mkdir -p ${forged} && tar -xf ${archive} -C ${forged} && cd ${forged} && for m in */manifest.json; do printf ' ' >> "$m"; done && tar -cf ../forged.tar *`]);
    const result = await runIcosAsync(['base', 'import', '--archive', path.join(work, 'forged.tar')], { env: { ICOS_REGISTRY: second.host } });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/forged\.tar: guestos-base-dev-[0-9a-f]{16}\/manifest\.json has digest sha256:[0-9a-f]{64}, not the sha256:[0-9a-f]{64} its index names: nothing imported/);
  });
});

describe('icos rootfs --os guestos --env dev (as Bazel built it)', () => {
  it('has sorted entries, one mtime, numeric owners and no secrets or dates', async () => {
    const listing = (await toolAsync('tar', ['--full-time', '-tvf', bazelRootfs])).trimEnd().split('\n');
    for (const line of listing) expect(line).toMatch(/^\S+ \d+\/\d+ +[\d,]+ 1970-01-01 00:00:00 /);
    const names = listing.map((line) => line.replace(/^(\S+\s+){5}/, '').replace(/ (->|link to) .*$/, ''));
    expect(names).toContain('etc/systemd/system/generate-host-ssh-keys.service');
    expect(names).toContain('etc/systemd/system/multi-user.target.wants/generate-host-ssh-keys.service');
    expect(names.filter((n) => /^etc\/ssh\/ssh_host_|\.pyc$|^var\/lib\/apt\/lists\/.+|^var\/cache\/apt\/.+\.bin$/.test(n))).toEqual([]);
    expect(names.filter((n) => n.startsWith('run/') && n !== 'run/')).toEqual([]);
    expect(listing.find((l) => / opt\/ic\/bin\/generate-host-ssh-keys\.sh$/.test(l))).toMatch(/^-rwxr-xr-x 0\/0 /);
    expect(listing.filter((l) => l.startsWith('-') && / var\/log\//.test(l))).toEqual([]);

    const file = (name: string): string => execFileSync('tar', ['-xOf', bazelRootfs, name], { encoding: 'utf8' });
    expect(file('etc/machine-id')).toBe('');
    const shadow = file('etc/shadow').trimEnd().split('\n').map((line) => line.split(':'));
    for (const fields of shadow) expect(fields[2]).toBe('');
    // dev: root/root with the fixed salt (openssl recomputes it independently).
    const expected = execFileSync('openssl', ['passwd', '-6', '-salt', 'icosdevrootsalt', 'root'], { encoding: 'utf8' }).trim();
    expect(shadow.find((fields) => fields[0] === 'root')?.[1]).toBe(expected);
  });
});
