import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readComponentManifest } from './component-manifest.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'icos-components-'));
  await mkdir(path.join(root, 'components/os'), { recursive: true });
  for (const name of ['hosts', 'resolv', 'motd']) await writeFile(path.join(root, 'components/os', name), 'x\n');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('readComponentManifest', () => {
  it('refuses install paths the container engine owns, naming each (Docker never exports an image file there)', async () => {
    const manifest = { 'os/hosts': '/etc/hosts', 'os/resolv': '/etc/resolv.conf/x', 'os/motd': '/etc/motd' };
    await writeFile(path.join(root, 'components/os.json'), JSON.stringify(manifest));
    const failure = await readComponentManifest('os', root).then(() => undefined, (error: Error) => error.message);
    expect(failure).toContain('install path "/etc/hosts" belongs to the container engine: no image file there reaches the export (set it at boot)');
    expect(failure).toContain('install path "/etc/resolv.conf/x" belongs to the container engine');
    expect(failure).not.toContain('/etc/motd');
  });
});
