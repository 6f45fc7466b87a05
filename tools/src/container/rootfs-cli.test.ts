import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './base-pins.ts';

const run = promisify(execFile);
const ICOS = path.join(REPO_ROOT, 'bin/icos.mjs');
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'icos-rootfs-cli-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function icos(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [ICOS, ...args], { env: { ...process.env, ...env }, cwd: work });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('icos rootfs without an engine', () => {
  it('says where it looked and how to start the engine, exits 1 and leaves no output', async () => {
    const socket = path.join(work, 'dead.sock');
    const out = path.join(work, 'rootfs-tree.tar');
    const result = await icos(['rootfs', '--os', 'guestos', '--env', 'dev', '--out', out], { DOCKER_HOST: `unix://${socket}` });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `icos: Container engine at "unix://${socket}" does not answer: ENOENT\n` +
        '  hint: start it with: bash tools/services.sh (or point DOCKER_HOST at a running Docker or Podman socket)\n',
    );
    expect(await readdir(work)).toEqual([]);
  });

  it('refuses a prod build on the dev base before asking the engine', async () => {
    const dev = `127.0.0.1:5000/guestos-base-dev@sha256:${'0'.repeat(64)}`;
    const result = await icos(['rootfs', '--os', 'guestos', '--env', 'prod', '--base-image', dev, '--out', path.join(work, 'x.tar')], {
      DOCKER_HOST: `unix://${path.join(work, 'dead.sock')}`,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `icos: --base-image: base image "${dev}" is not the prod base "127.0.0.1:5000/guestos-base": a prod build refuses dev or foreign bases\n`,
    );
    expect(await readdir(work)).toEqual([]);
  });
});
