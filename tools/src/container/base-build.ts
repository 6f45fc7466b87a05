import { UserError } from '../errors.ts';
import { sourceDateEpoch } from '../lib/reproducible.ts';
import {
  type BuildEnv,
  baseRepository,
  basePinFile,
  type ContainerOs,
  contextDir,
  displayPath,
  inRegistry,
  parseDigestReference,
  type PinnedReference,
  readPin,
  registryHost,
  UPSTREAM,
} from './base-pins.ts';
import { localPinFile, type PinRecord, readEffectivePin, recordPin } from './local-base.ts';
import type { ContainerDeps } from './bootstrap.ts';
import { packBuildContext } from './build-context.ts';
import { type EngineResources, withEngineResources } from './engine-resources.ts';
import { diffPackages, formatPackageChange, keptPackages, type PackageChange, type PackageVersions, recordPackages } from './package-manifest.ts';

/** Package lists a base of each env installs, as the PACKAGE_FILES build argument of Dockerfile.base. */
export function packageFiles(env: BuildEnv): string {
  return env === 'dev' ? 'packages.common packages.dev' : 'packages.common';
}

export interface BaseBuildResult {
  os: ContainerOs;
  env: BuildEnv;
  pinFile: string;
  before?: PinnedReference;
  after: PinnedReference;
  /** Package changes against the previous pin; undefined when its list is not known here. */
  packageChanges?: PackageChange[];
}

/** Reads the previous pin for the change report; an unreadable one is reported, not fatal (it is being replaced). */
export async function previousPin(file: string, deps: ContainerDeps): Promise<PinnedReference | undefined> {
  try {
    return await readPin(file);
  } catch (error) {
    if (error instanceof UserError) deps.log.warn(`${error.message} (replacing it)`);
    return undefined;
  }
}

export async function packagesOf(
  pinned: PinnedReference | undefined,
  deps: ContainerDeps,
  resources: EngineResources,
): Promise<PackageVersions | undefined> {
  if (pinned === undefined) return undefined;
  const kept = await keptPackages(pinned.digest);
  if (kept !== undefined) return kept;
  if (!(await deps.engine.ensureImage(inRegistry(pinned)))) return undefined;
  return (await recordPackages(deps.engine, inRegistry(pinned), pinned.digest, resources)).packages;
}

/**
 * Makes sure the upstream root (pinned, or its local stand-in) is in the engine and returns the
 * reference to build on; names the command that makes it if not.
 */
export async function upstreamBase(deps: ContainerDeps): Promise<string> {
  const upstream = await readEffectivePin(UPSTREAM.pinFile, 'icos base bootstrap makes it');
  const reference = inRegistry(upstream.use);
  if (!(await deps.engine.ensureImage(reference))) {
    throw new UserError(
      `${upstream.source}: upstream image "${upstream.use.reference}" is not in the registry ${registryHost()}`,
      'icos base bootstrap makes it (and rewrites the pin); icos base import brings it from an export',
    );
  }
  return reference;
}

/**
 * `icos base build`: builds an OS's Dockerfile.base on the upstream root, pushes it to the
 * configured registry and rewrites `docker-base.<env>` with the pushed digest (or, for `local`,
 * writes the untracked stand-in beside it).
 */
export async function buildBase(os: ContainerOs, env: BuildEnv, deps: ContainerDeps, record: PinRecord = 'tracked'): Promise<BaseBuildResult> {
  const { engine, log } = deps;
  await engine.ping();
  const upstream = await upstreamBase(deps);
  const pinFile = basePinFile(os, env);
  const before = await previousPin(pinFile, deps);
  const repository = baseRepository(os, env);
  const tagged = `${registryHost()}/${repository}:latest`;
  const artifact = `base(${os}/${env})`;
  log.info(`${artifact}: building Dockerfile.base on ${upstream}`);
  const imageId = await engine.buildImage(
    {
      context: await packBuildContext(contextDir(os), [], sourceDateEpoch()),
      dockerfile: 'Dockerfile.base',
      tag: tagged,
      buildArgs: { UPSTREAM_IMAGE: upstream, PACKAGE_FILES: packageFiles(env) },
      noCache: true,
      artifact,
    },
    // Prefixed: ensure builds two bases at once, and their lines interleave.
    ({ text }) => log.info(`${artifact}: ${text}`),
  );
  const digest = await engine.pushImage(tagged);
  const after = parseDigestReference(`${repository}@${digest}`)!;
  const packageChanges = await withEngineResources(engine, log, async (resources) => {
    const now = (await recordPackages(engine, imageId, digest, resources)).packages;
    const old = await packagesOf(before, deps, resources);
    return old === undefined ? undefined : diffPackages(old, now);
  });
  await recordPin(pinFile, after, record);
  const written = record === 'local' ? localPinFile(pinFile) : pinFile;
  log.info(`${displayPath(written)}: ${after.reference}`);
  return { os, env, pinFile: written, before, after, packageChanges };
}

/** The change report of `icos base refresh`, ready for a change request. */
export function formatRefreshReport(results: readonly BaseBuildResult[]): string {
  const lines: string[] = [];
  for (const result of results) {
    const where = displayPath(result.pinFile);
    if (result.before?.digest === result.after.digest) {
      lines.push(`${where}: unchanged (${result.after.reference})`);
      continue;
    }
    lines.push(`${where}: ${result.before?.reference ?? '(none)'} -> ${result.after.reference}`);
    if (result.packageChanges === undefined) lines.push('  package changes: unknown (previous image not available here)');
    else if (result.packageChanges.length === 0) lines.push('  package changes: none');
    else lines.push(...result.packageChanges.map((change) => `  ${formatPackageChange(change)}`));
  }
  return `${lines.join('\n')}\n`;
}
