import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import tar from 'tar-stream';
import type { ContainerEngine } from '../definitions.ts';
import { REPO_ROOT } from './base-pins.ts';
import { compareDebianVersions } from './debian-version.ts';
import type { EngineResources } from './engine-resources.ts';
import { temporaryName } from './engine-resources.ts';

/** Package name to installed version. */
export type PackageVersions = Map<string, string>;

/** Git-ignored directory of package manifests, one per base image digest. */
export const MANIFEST_DIR = path.join(REPO_ROOT, 'build', 'base-images');

/** Parses dpkg's status database, keeping installed packages only. */
export function parseDpkgStatus(text: string): PackageVersions {
  const packages: PackageVersions = new Map();
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string): string | undefined => new RegExp(`^${name}: (.*)$`, 'm').exec(stanza)?.[1]?.trim();
    const name = field('Package');
    const version = field('Version');
    if (name !== undefined && version !== undefined && field('Status') === 'install ok installed') packages.set(name, version);
  }
  return packages;
}

/** One `name version` line per package, sorted: the manifest format. */
export function formatManifest(packages: PackageVersions): string {
  return [...packages.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, version]) => `${name} ${version}\n`)
    .join('');
}

export function parseManifest(text: string): PackageVersions {
  return new Map(text.split('\n').filter((line) => line !== '').map((line) => line.split(' ', 2) as [string, string]));
}

/** One package that differs between two package lists. */
export type PackageChange =
  | { kind: 'added'; name: string; version: string }
  | { kind: 'removed'; name: string; version: string }
  | { kind: 'upgraded' | 'downgraded'; name: string; from: string; to: string };

/** The packages that differ, sorted by name; a changed version is an upgrade or downgrade in dpkg's order. */
export function diffPackages(before: PackageVersions, after: PackageVersions): PackageChange[] {
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changes: PackageChange[] = [];
  for (const name of names) {
    const from = before.get(name);
    const to = after.get(name);
    if (from === undefined) changes.push({ kind: 'added', name, version: to! });
    else if (to === undefined) changes.push({ kind: 'removed', name, version: from });
    else if (from !== to) changes.push({ kind: compareDebianVersions(from, to) <= 0 ? 'upgraded' : 'downgraded', name, from, to });
  }
  return changes;
}

/** One change as a line of the plain-text report: `+name version`, `-name version`, `~name old -> new`. */
export function formatPackageChange(change: PackageChange): string {
  if (change.kind === 'added') return `+${change.name} ${change.version}`;
  if (change.kind === 'removed') return `-${change.name} ${change.version}`;
  return `~${change.name} ${change.from} -> ${change.to}`;
}

function manifestPath(digest: string): string {
  return path.join(MANIFEST_DIR, `${digest.replace(':', '-')}.packages`);
}

async function readStatusFromImage(engine: ContainerEngine, image: string, resources: EngineResources): Promise<string> {
  const id = await engine.createContainer(image, temporaryName('packages'));
  resources.container(id);
  const archive = await engine.readArchive(id, '/var/lib/dpkg/status');
  const extract = tar.extract();
  archive.pipe(extract);
  let text = '';
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
    text += Buffer.concat(chunks).toString('utf8');
  }
  return text;
}

/** Reads the package list of an image the engine holds and keeps it as `build/base-images/<digest>.packages`. */
export async function recordPackages(
  engine: ContainerEngine,
  image: string,
  digest: string,
  resources: EngineResources,
): Promise<{ packages: PackageVersions; file: string }> {
  const packages = parseDpkgStatus(await readStatusFromImage(engine, image, resources));
  const file = manifestPath(digest);
  await mkdir(MANIFEST_DIR, { recursive: true });
  await writeFile(file, formatManifest(packages));
  return { packages, file };
}

/** The kept package list of a digest, or undefined when this machine never made or saw it. */
export async function keptPackages(digest: string): Promise<PackageVersions | undefined> {
  try {
    return parseManifest(await readFile(manifestPath(digest), 'utf8'));
  } catch {
    return undefined;
  }
}
