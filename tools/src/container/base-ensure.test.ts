import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContainerEngine, Logger } from '../definitions.ts';
import { ensureBases, type EnsuredBase, type EnsurePlan, formatEnsureReport } from './base-ensure.ts';
import { registryHost } from './base-pins.ts';
import type { ContainerDeps } from './bootstrap.ts';
import { localPinFile, readEffectivePin } from './local-base.ts';

const digest = (byte: string): string => `sha256:${byte.repeat(64)}`;
const PINNED = { upstream: `upstream@${digest('1')}`, base: `os-base-dev@${digest('2')}` };
const BUILT = { upstream: `upstream@${digest('3')}`, base: `os-base-dev@${digest('4')}` };
const quiet: Logger = { info() {}, verbose() {}, warn() {} };
let dir: string;

/** An engine that has exactly the references it is given, in the configured registry. */
function engineWith(...references: string[]): ContainerEngine {
  const present = new Set(references.map((reference) => `${registryHost()}/${reference}`));
  return { ensureImage: async (reference: string) => present.has(reference) } as unknown as ContainerEngine;
}

/** A plan on two pin files in a temp dir whose builds only record that they ran. */
function plan(built: string[]): EnsurePlan {
  return {
    upstreamPinFile: path.join(dir, 'docker-base.upstream'),
    bases: [{ os: 'os', env: 'dev', pinFile: path.join(dir, 'docker-base.dev') }],
    bootstrap: async () => (built.push('upstream'), BUILT.upstream),
    build: async () => (built.push('base'), BUILT.base),
  };
}

const deps = (engine: ContainerEngine): ContainerDeps => ({ engine, runner: undefined as never, log: quiet });

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'icos-ensure-'));
  await writeFile(path.join(dir, 'docker-base.upstream'), `${PINNED.upstream}\n`);
  await writeFile(path.join(dir, 'docker-base.dev'), `${PINNED.base}\n`);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ensureBases', () => {
  it('uses the pinned images when the registry has them, builds nothing and drops a stand-in', async () => {
    await writeFile(localPinFile(path.join(dir, 'docker-base.dev')), `# replaces ${PINNED.base}\n${BUILT.base}\n`);
    const built: string[] = [];
    const ensured = await ensureBases(deps(engineWith(PINNED.upstream, PINNED.base)), plan(built));
    expect(built).toEqual([]);
    expect(ensured.map(({ how }) => how)).toEqual(['pinned', 'pinned']);
    await expect(readFile(localPinFile(path.join(dir, 'docker-base.dev')))).rejects.toThrow(/ENOENT/);
    expect(formatEnsureReport(ensured)).not.toMatch(/WARNING/);
  });

  it('builds stand-ins (upstream first) when the registry lacks the pins, and leaves the tracked pins alone', async () => {
    const built: string[] = [];
    const ensured = await ensureBases(deps(engineWith()), plan(built));
    expect(built).toEqual(['upstream', 'base']);
    expect(ensured.map(({ how }) => how)).toEqual(['built', 'built']);
    expect(await readFile(path.join(dir, 'docker-base.dev'), 'utf8')).toBe(`${PINNED.base}\n`);
    const report = formatEnsureReport(ensured);
    expect(report).toContain(`${localPinFile(path.join(dir, 'docker-base.dev'))}: built here ${BUILT.base}, standing in for the pin the registry`);
    expect(report).toContain('Images built on\nthem will NOT match the pinned (blessed) images.');
  });

  it('builds no upstream root when only the upstream pin is missing', async () => {
    const built: string[] = [];
    const ensured = await ensureBases(deps(engineWith(PINNED.base)), plan(built));
    expect(built).toEqual(['upstream']);
    expect(ensured.map(({ how }) => how)).toEqual(['built', 'pinned']);
  });

  it('builds two bases at a time on one upstream root, and reports them in the plan order', async () => {
    const names = ['a', 'b', 'c'];
    for (const name of names) await writeFile(path.join(dir, `docker-base.${name}`), `os-base-${name}@${digest('5')}\n`);
    let running = 0;
    let most = 0;
    const bootstraps: string[] = [];
    const parallel: EnsurePlan = {
      ...plan([]),
      bases: names.map((name) => ({ os: 'os', env: name as never, pinFile: path.join(dir, `docker-base.${name}`) })),
      bootstrap: async () => (bootstraps.push('upstream'), BUILT.upstream),
      build: async (_os, env) => {
        most = Math.max(most, ++running);
        // The first base finishes last: the report keeps the plan's order all the same.
        await new Promise((resolve) => setTimeout(resolve, env === ('a' as never) ? 30 : 5));
        running--;
        return `os-base-${env}@${digest('6')}`;
      },
    };
    const ensured = await ensureBases(deps(engineWith()), parallel);
    expect(bootstraps).toEqual(['upstream']);
    expect(most).toBe(2);
    expect(ensured.map(({ reference }) => reference)).toEqual([BUILT.upstream, ...names.map((name) => `os-base-${name}@${digest('6')}`)]);
  });

  it('keeps a stand-in the registry has, and replaces one made for an older pin', async () => {
    const pinFile = path.join(dir, 'docker-base.dev');
    await writeFile(localPinFile(pinFile), `# replaces ${PINNED.base}\n${BUILT.base}\n`);
    const howOf = (ensured: EnsuredBase[]) => ensured.find((base) => base.pinFile === pinFile)!.how;
    expect(howOf(await ensureBases(deps(engineWith(PINNED.upstream, BUILT.base)), plan([])))).toBe('local');
    await writeFile(localPinFile(pinFile), `# replaces os-base-dev@${digest('9')}\n${BUILT.base}\n`);
    const built: string[] = [];
    expect(howOf(await ensureBases(deps(engineWith(PINNED.upstream, BUILT.base)), plan(built)))).toBe('built');
    expect(built).toEqual(['base']);
  });
});

describe('readEffectivePin', () => {
  it('builds on the stand-in when there is one, naming its file', async () => {
    const pinFile = path.join(dir, 'docker-base.dev');
    expect((await readEffectivePin(pinFile)).use.reference).toBe(PINNED.base);
    await writeFile(localPinFile(pinFile), `# replaces ${PINNED.base}\n${BUILT.base}\n`);
    const pin = await readEffectivePin(pinFile);
    expect(pin.use.reference).toBe(BUILT.base);
    expect(pin.source).toBe(localPinFile(pinFile));
  });

  it('refuses a stand-in made for another pin, naming both files', async () => {
    const pinFile = path.join(dir, 'docker-base.dev');
    await writeFile(localPinFile(pinFile), `# replaces os-base-dev@${digest('9')}\n${BUILT.base}\n`);
    await expect(readEffectivePin(pinFile)).rejects.toThrow(
      `${localPinFile(pinFile)}: local base made for os-base-dev@${digest('9')}, but ${pinFile} pins ${PINNED.base}`,
    );
  });
});

describe('the checkout', () => {
  it('ignores stand-ins in git, so ensure never leaves the checkout dirty', () => {
    const ignored = execFileSync('git', ['check-ignore', '--no-index', 'envs/guestos/context/docker-base.dev.local'], { encoding: 'utf8' });
    expect(ignored.trim()).toBe('envs/guestos/context/docker-base.dev.local');
  });
});
