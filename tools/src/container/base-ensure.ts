import { buildBase } from './base-build.ts';
import { basePinFile, BUILD_ENVS, type BuildEnv, type ContainerOs, containerOses, displayPath, inRegistry, registryHost, UPSTREAM } from './base-pins.ts';
import { bootstrapUpstream, type ContainerDeps } from './bootstrap.ts';
import { type EffectivePin, localPinFile, readEffectivePin, removeLocalPin, StaleLocalPin } from './local-base.ts';

/** How `icos base ensure` got one base. */
export interface EnsuredBase {
  pinFile: string;
  /** pinned: the tracked pin's image; local: an earlier stand-in; built: a stand-in made now. */
  how: 'pinned' | 'local' | 'built';
  reference: string;
}

/** Every tracked pin, the upstream root first: what ensure, export and import walk. */
export function trackedPinFiles(only?: { os?: ContainerOs; env?: BuildEnv }): string[] {
  const bases = containerOses()
    .filter((os) => only?.os === undefined || os === only.os)
    .flatMap((os) => BUILD_ENVS.filter((env) => only?.env === undefined || env === only.env).map((env) => basePinFile(os, env)));
  return only?.os === undefined && only?.env === undefined ? [UPSTREAM.pinFile, ...bases] : bases;
}

/** The tracked and local pins of a file; a stale stand-in counts as none (ensure replaces it). */
async function readForEnsure(pinFile: string, deps: ContainerDeps): Promise<EffectivePin> {
  try {
    return await readEffectivePin(pinFile);
  } catch (error) {
    if (!(error instanceof StaleLocalPin)) throw error;
    deps.log.warn(`${error.message} (replacing it)`);
    await removeLocalPin(pinFile);
    return readEffectivePin(pinFile);
  }
}

/** What ensure walks and how it makes a missing base: the repository's pins by default; tests pass their own. */
export interface EnsurePlan {
  upstreamPinFile: string;
  bases: readonly { os: ContainerOs; env: BuildEnv; pinFile: string }[];
  /** Makes the upstream root's stand-in; returns its reference. */
  bootstrap(): Promise<string>;
  /** Makes a base's stand-in on the upstream root; returns its reference. */
  build(os: ContainerOs, env: BuildEnv): Promise<string>;
}

export function repositoryEnsurePlan(deps: ContainerDeps): EnsurePlan {
  return {
    upstreamPinFile: UPSTREAM.pinFile,
    bases: containerOses().flatMap((os) => BUILD_ENVS.map((env) => ({ os, env, pinFile: basePinFile(os, env) }))),
    bootstrap: async () => (await bootstrapUpstream(deps, 'local')).pinned.reference,
    build: async (os, env) => (await buildBase(os, env, deps, 'local')).after.reference,
  };
}

/** Stand-ins built at once: apt inside each build waits on the archive as much as on the CPU. */
const PARALLEL_BUILDS = 2;

/** `work` on every item, at most `limit` at a time; results in the items' order. */
async function mapWithLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * `icos base ensure`: makes every pinned base usable here without touching a tracked file. A base
 * whose pinned digest the registry has (or can pull) is used as pinned, and any stand-in of it is
 * dropped. Otherwise an earlier stand-in is kept, or one is built now (the upstream root only if
 * a base needs it, once) and written to the untracked `<pin>.local`. Builds run two at a time;
 * the report lists the upstream root first, then the bases in the plan's order.
 */
export async function ensureBases(deps: ContainerDeps, plan: EnsurePlan = repositoryEnsurePlan(deps)): Promise<EnsuredBase[]> {
  const ensureOne = async (pinFile: string, build: () => Promise<string>): Promise<EnsuredBase> => {
    const pin = await readForEnsure(pinFile, deps);
    if (await deps.engine.ensureImage(inRegistry(pin.tracked))) {
      if (pin.local !== undefined) await removeLocalPin(pinFile);
      return { pinFile, how: 'pinned', reference: pin.tracked.reference };
    }
    if (pin.local !== undefined && (await deps.engine.ensureImage(inRegistry(pin.local)))) {
      return { pinFile, how: 'local', reference: pin.local.reference };
    }
    return { pinFile, how: 'built', reference: await build() };
  };
  let upstream: Promise<EnsuredBase> | undefined;
  const ensureUpstream = (): Promise<EnsuredBase> => (upstream ??= ensureOne(plan.upstreamPinFile, plan.bootstrap));
  const bases = await mapWithLimit(plan.bases, PARALLEL_BUILDS, ({ os, env, pinFile }) =>
    ensureOne(pinFile, async () => {
      await ensureUpstream();
      return plan.build(os, env);
    }),
  );
  return [await ensureUpstream(), ...bases];
}

/** What ensure says: one line per base, and a plain warning when any base is not the pinned one. */
export function formatEnsureReport(ensured: readonly EnsuredBase[], registry: string = registryHost()): string {
  const lines = ensured.map(({ pinFile, how, reference }) => {
    if (how === 'pinned') return `${displayPath(pinFile)}: pinned ${reference} (registry ${registry})`;
    const verb = how === 'built' ? 'built here' : 'local';
    return `${displayPath(localPinFile(pinFile))}: ${verb} ${reference}, standing in for the pin the registry ${registry} lacks`;
  });
  if (ensured.some(({ how }) => how !== 'pinned')) {
    lines.push(
      '',
      'WARNING: some bases are not the pinned ones: this machine could not get the pinned images, so it',
      'built its own from today\'s Debian archive into the untracked *.local files above. Images built on',
      'them will NOT match the pinned (blessed) images. To build on the pinned bases, get them with',
      '`icos base import --archive FILE` (from `icos base export` on a machine that has them) or point',
      'ICOS_REGISTRY at a registry that holds them, then run `icos base ensure` again.',
    );
  }
  return `${lines.join('\n')}\n`;
}
