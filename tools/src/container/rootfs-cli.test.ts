import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { icosInProcess, runIcos, useTempDir } from '../../../test/support/tools.ts';
import type { ContainerEngine } from '../definitions.ts';
import { UserError } from '../errors.ts';

const { dir: work } = useTempDir('rootfs-cli');

/** `icos` as a child process in the work directory, with extra environment. */
function icos(args: string[], env: Record<string, string>): { code: number; stdout: string; stderr: string } {
  const { status, stdout, stderr } = runIcos(args, { env, cwd: work });
  return { code: status, stdout, stderr };
}

describe('icos rootfs without an engine', () => {
  it('says where it looked and how to start the engine, exits 1 and leaves no output', async () => {
    const socket = path.join(work, 'dead.sock');
    const out = path.join(work, 'rootfs-tree.tar');
    const result = icos(['rootfs', '--os', 'guestos', '--env', 'dev', '--out', out], { DOCKER_HOST: `unix://${socket}` });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `icos: Container engine at "unix://${socket}" does not answer: no such file or directory\n` +
        '  hint: start it with: bash tools/services.sh (or point DOCKER_HOST at a running Docker or Podman socket)\n',
    );
    expect(await readdir(work)).toEqual([]);
  });

  it('icos base says the same of the engine it cannot reach', () => {
    const socket = path.join(work, 'dead.sock');
    const result = icos(['base', 'ensure'], { DOCKER_HOST: `unix://${socket}` });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `icos: Container engine at "unix://${socket}" does not answer: no such file or directory\n` +
        '  hint: start it with: bash tools/services.sh (or point DOCKER_HOST at a running Docker or Podman socket)\n',
    );
  });

  it('refuses a prod build on the dev base before asking the engine', async () => {
    const dev = `127.0.0.1:5000/guestos-base-dev@sha256:${'0'.repeat(64)}`;
    const result = icos(['rootfs', '--os', 'guestos', '--env', 'prod', '--base-image', dev, '--out', path.join(work, 'x.tar')], {
      DOCKER_HOST: `unix://${path.join(work, 'dead.sock')}`,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `icos: --base-image: base image "${dev}" is not the prod base "127.0.0.1:5000/guestos-base": a prod build refuses dev or foreign bases\n`,
    );
    expect(await readdir(work)).toEqual([]);
  });
});

describe('icos rootfs with the engine of its deps', () => {
  /** An engine that counts the requests it is asked (none are expected) and never answers. */
  function silentEngine(): { engine: ContainerEngine; pings: () => number } {
    let pings = 0;
    const engine = {
      async ping() {
        pings += 1;
        throw new UserError('Container engine "fake" does not answer');
      },
    } as Partial<ContainerEngine> as ContainerEngine;
    return { engine, pings: () => pings };
  }

  it('refuses a --base-image that is no image reference before asking the engine', async () => {
    const { engine, pings } = silentEngine();
    const out = path.join(work, 'rootfs-tree.tar');
    const result = await icosInProcess(['rootfs', '--os', 'guestos', '--env', 'dev', '--out', out, '--base-image', 'UPPER CASE'], { engine: () => engine });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^icos: --base-image "UPPER CASE": not an image reference .*: its name part "UPPER CASE" is not lowercase/);
    expect(pings()).toBe(0);
    expect(await readdir(work)).toEqual([]);
  });

  it('names an --out it cannot replace (/dev/null) before asking the engine', async () => {
    const { engine, pings } = silentEngine();
    const result = await icosInProcess(['rootfs', '--os', 'guestos', '--env', 'dev', '--out', '/dev/null'], { engine: () => engine });
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'icos: --out "/dev/null": is a character device: only a regular file (or nothing) is replaced by an output\n' });
    expect(pings()).toBe(0);
  });

  it('asks the engine passed to main, not dockerode, and stops when it does not answer', async () => {
    const { engine, pings } = silentEngine();
    const out = path.join(work, 'rootfs-tree.tar');
    const result = await icosInProcess(['rootfs', '--os', 'guestos', '--env', 'dev', '--out', out], { engine: () => engine });
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'icos: Container engine "fake" does not answer\n' });
    expect(pings()).toBe(1);
    expect(await readdir(work)).toEqual([]);
  });
});
