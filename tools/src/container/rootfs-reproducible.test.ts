import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerodeContainerEngine } from '../infra/dockerode-container-engine.ts';
import { basePinFile, readPin, REPO_ROOT, UPSTREAM } from './base-pins.ts';

// Integration: the GuestOS dev root filesystem built twice on the same pinned base must give the
// same bytes. Takes minutes; needs the engine and registry of tools/services.sh. On a machine
// whose registry lacks the pinned images (a fresh CI machine) they are made first.
const run = promisify(execFile);
const ICOS = path.join(REPO_ROOT, 'bin/icos.mjs');
const MINUTES = 60_000;
let work: string;

async function icos(...args: string[]): Promise<void> {
  await run(process.execPath, [ICOS, ...args], { maxBuffer: 256 * 1024 * 1024 });
}

async function pinnedAvailable(file: string): Promise<boolean> {
  const pinned = await readPin(file).catch(() => undefined);
  return pinned !== undefined && (await new DockerodeContainerEngine().ensureImage(pinned.reference));
}

function sha256(file: string): string {
  return execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'icos-rootfs-repro-'));
  if (!(await pinnedAvailable(basePinFile('guestos', 'dev')))) {
    if (!(await pinnedAvailable(UPSTREAM.pinFile))) await icos('base', 'bootstrap');
    await icos('base', 'build', '--os', 'guestos', '--env', 'dev');
  }
}, 30 * MINUTES);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('icos rootfs --os guestos --env dev', () => {
  it('gives the same sha256 twice, with sorted entries, one mtime, numeric owners and no secrets or dates', async () => {
    const first = path.join(work, 'first.tar');
    const second = path.join(work, 'second.tar');
    await icos('rootfs', '--os', 'guestos', '--env', 'dev', '--out', first);
    await icos('rootfs', '--os', 'guestos', '--env', 'dev', '--out', second);
    expect(sha256(second)).toBe(sha256(first));

    const listing = execFileSync('tar', ['--full-time', '-tvf', first], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trimEnd().split('\n');
    for (const line of listing) expect(line).toMatch(/^\S+ \d+\/\d+ +[\d,]+ 1970-01-01 00:00:00 /);
    const names = listing.map((line) => line.replace(/^(\S+\s+){5}/, '').replace(/ (->|link to) .*$/, ''));
    expect(names).toContain('etc/systemd/system/generate-host-ssh-keys.service');
    expect(names).toContain('etc/systemd/system/multi-user.target.wants/generate-host-ssh-keys.service');
    expect(names.filter((n) => /^etc\/ssh\/ssh_host_|\.pyc$|^var\/lib\/apt\/lists\/.+|^var\/cache\/apt\/.+\.bin$/.test(n))).toEqual([]);
    expect(names.filter((n) => n.startsWith('run/') && n !== 'run/')).toEqual([]);
    expect(listing.find((l) => / opt\/ic\/bin\/generate-host-ssh-keys\.sh$/.test(l))).toMatch(/^-rwxr-xr-x 0\/0 /);
    expect(listing.filter((l) => l.startsWith('-') && / var\/log\//.test(l))).toEqual([]);

    const file = (name: string): string => execFileSync('tar', ['-xOf', first, name], { encoding: 'utf8' });
    expect(file('etc/machine-id')).toBe('');
    const shadow = file('etc/shadow').trimEnd().split('\n').map((line) => line.split(':'));
    for (const fields of shadow) expect(fields[2]).toBe('');
    // dev: root/root with the fixed salt (openssl recomputes it independently).
    const expected = execFileSync('openssl', ['passwd', '-6', '-salt', 'icosdevrootsalt', 'root'], { encoding: 'utf8' }).trim();
    expect(shadow.find((fields) => fields[0] === 'root')?.[1]).toBe(expected);
  }, 60 * MINUTES);
});
