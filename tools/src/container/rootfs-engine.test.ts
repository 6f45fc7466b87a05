import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleLogger } from '../infra/console-logger.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { DockerodeContainerEngine } from '../infra/dockerode-container-engine.ts';
import { inRegistry } from './base-pins.ts';
import { upstreamBase } from './base-build.ts';
import { bootstrapUpstream, type ContainerDeps } from './bootstrap.ts';
import { packBuildContext } from './build-context.ts';
import { temporaryName, withEngineResources } from './engine-resources.ts';
import { normaliseRootfsTar } from './rootfs-normalise.ts';

// A real engine (tools/services.sh starts it): a tiny image FROM the bootstrap root, exported
// by the engine and normalised; the result is read back with GNU tar.
const log = new ConsoleLogger(false);
const deps: ContainerDeps = { engine: new DockerodeContainerEngine(), runner: new ExecaCommandRunner(log), log };
let work: string;
let upstream: string;

const DOCKERFILE = `ARG BASE
FROM \${BASE}
RUN set -eu; mkdir -p /run/lock/stale /opt/data; echo shared > /opt/data/z-target; ln /opt/data/z-target /opt/data/a-link; \\
    touch /run/lock/stale/pid; mknod /opt/data/null c 1 3; mkdir -p /opt/${'n'.repeat(80)}; touch /opt/${'n'.repeat(80)}/${'m'.repeat(80)}
`;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'icos-engine-export-'));
  await deps.engine.ping();
  upstream = await upstreamBase(deps).catch(async () => inRegistry((await bootstrapUpstream(deps)).pinned));
}, 600_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('normaliseRootfsTar on an engine export', () => {
  it('sorts, fixes times and owners, drops run/* and .dockerenv, keeps hard links and devices', async () => {
    const contextDir = path.join(work, 'context');
    execFileSync('mkdir', ['-p', contextDir]);
    await writeFile(path.join(contextDir, 'Dockerfile'), DOCKERFILE);
    const out = path.join(work, 'rootfs.tar');
    await withEngineResources(deps.engine, log, async (resources) => {
      const tag = `icos-test:${temporaryName('export')}`;
      resources.image(tag);
      const image = await deps.engine.buildImage(
        { context: await packBuildContext(contextDir, [], 0), dockerfile: 'Dockerfile', tag, buildArgs: { BASE: upstream }, noCache: true, artifact: 'test' },
        () => {},
      );
      const container = await deps.engine.createContainer(image, temporaryName('export'));
      resources.container(container);
      await normaliseRootfsTar(await deps.engine.exportContainer(container), out, { mtime: 86_400, artifact: 'rootfs(test)', scratchDir: work });
    });
    const listing = execFileSync('tar', ['--full-time', '-tvf', out], { encoding: 'utf8' }).trimEnd().split('\n');
    const names = execFileSync('tar', ['-tf', out], { encoding: 'utf8' }).trimEnd().split('\n');
    const gnuSorted = execFileSync('sh', ['-c', `mkdir ${work}/x && tar -xf ${out} -C ${work}/x && tar --sort=name -cf - -C ${work}/x . | tar -tf - | sed -e 's|^\\./||' -e '/^$/d'`], { encoding: 'utf8' })
      .trimEnd()
      .split('\n');
    expect(names).toEqual(gnuSorted);
    for (const line of listing) expect(line).toMatch(/^\S+ \d+\/\d+ +[\d,]+ 1970-01-02 00:00:00 /);
    expect(names).toContain('run/');
    expect(names.filter((n) => n.startsWith('run/') && n !== 'run/')).toEqual([]);
    expect(names).not.toContain('.dockerenv');
    expect(names.some((n) => n.includes('.wh.'))).toBe(false);
    expect(listing).toContainEqual(expect.stringMatching(/^h.* opt\/data\/z-target link to opt\/data\/a-link$/));
    expect(listing).toContainEqual(expect.stringMatching(/^c.* 1,3 .* opt\/data\/null$/));
    expect(names).toContain(`opt/${'n'.repeat(80)}/${'m'.repeat(80)}`);
    expect(execFileSync('tar', ['-xOf', out, 'opt/data/a-link'], { encoding: 'utf8' })).toBe('shared\n');
  });
});
