import { writeFile } from 'node:fs/promises';
import { checkReplaceable, writeAtomically } from '../lib/atomic-output.ts';
import { quoted } from '../messages.ts';
import { type BaseBuildResult, packagesOf, previousPin } from './base-build.ts';
import { displayPath, type PinnedReference, UPSTREAM } from './base-pins.ts';
import { bootstrapUpstream, type ContainerDeps } from './bootstrap.ts';
import { withEngineResources } from './engine-resources.ts';
import { diffPackages, keptPackages, type PackageChange } from './package-manifest.ts';
import { formatRefreshMarkdown, type PinReport } from './refresh-report.ts';

/** The upstream root's part of a refresh: its pin before and after, and what its packages did. */
export interface UpstreamRefresh {
  pinFile: string;
  before?: PinnedReference;
  after: PinnedReference;
  /** Undefined when the previous root's package list is not known here. */
  packageChanges?: PackageChange[];
}

/** The refresh's first step: a fresh upstream root (`icos base bootstrap`), compared with the one it replaces. */
export async function refreshUpstream(deps: ContainerDeps): Promise<UpstreamRefresh> {
  const before = await previousPin(UPSTREAM.pinFile, deps);
  const { pinned } = await bootstrapUpstream(deps);
  const packageChanges = await withEngineResources(deps.engine, deps.log, async (resources) => {
    // bootstrap kept the new root's list; the old one's is kept or read from its image.
    const now = await keptPackages(pinned.digest);
    const old = await packagesOf(before, deps, resources);
    return old === undefined || now === undefined ? undefined : diffPackages(old, now);
  });
  return { pinFile: UPSTREAM.pinFile, before, after: pinned, packageChanges };
}

/** The report's structured input: the upstream root first, then every base under its OS and env. */
export function refreshReportPins(upstream: UpstreamRefresh | undefined, bases: readonly BaseBuildResult[]): PinReport[] {
  const pin = (group: string, result: UpstreamRefresh): PinReport => ({
    group,
    pinFile: displayPath(result.pinFile),
    before: result.before?.digest,
    after: result.after.digest,
    packages: result.packageChanges,
  });
  return [
    ...(upstream === undefined ? [] : [pin(`upstream root (Debian ${UPSTREAM.suite})`, upstream)]),
    ...bases.map((base) => pin(`${base.os} / ${base.env}`, base)),
  ];
}

const reportWhere = (file: string): string => `--report ${quoted(file)}`;

/** Refuses a report path that cannot be written before the refresh spends its minutes. */
export async function checkReportPath(file: string): Promise<void> {
  await checkReplaceable(file, reportWhere(file));
}

/** `icos base refresh --report FILE`: the change request's body, written whole or not at all. */
export async function writeRefreshReport(file: string, upstream: UpstreamRefresh | undefined, bases: readonly BaseBuildResult[]): Promise<void> {
  const markdown = formatRefreshMarkdown(refreshReportPins(upstream, bases));
  await writeAtomically(file, (temp) => writeFile(temp, markdown), reportWhere(file));
}
