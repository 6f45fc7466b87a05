import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { formatProblem, UserError } from '../errors.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { quoted } from '../messages.ts';
import { osList } from '../os/os-list.ts';
import { isRegistryHost } from './image-reference.ts';

export { REPO_ROOT };

/** The registry of tools/services.sh, used when ICOS_REGISTRY names none. */
export const DEFAULT_REGISTRY = '127.0.0.1:5000';

/**
 * The registry base images are pulled from and pushed to: configuration, not part of a pin, so
 * a pin means the same image on every machine (a digest does not depend on the registry host).
 */
export function registryHost(environment: NodeJS.ProcessEnv = process.env): string {
  const value = environment.ICOS_REGISTRY;
  if (value === undefined) return DEFAULT_REGISTRY;
  if (!isRegistryHost(value)) {
    throw new UserError(`ICOS_REGISTRY ${quoted(value)}: not a registry host with an optional port (e.g. ${DEFAULT_REGISTRY})`);
  }
  return value;
}

export type BuildEnv = 'prod' | 'dev';
export const BUILD_ENVS: readonly BuildEnv[] = ['prod', 'dev'];
/** Operating systems with a container context under envs/<os>/context: every OS of envs/oses.json. */
export function containerOses(): readonly string[] {
  return osList();
}
export type ContainerOs = string;

/** The upstream Debian root made by `icos base bootstrap`. */
export const UPSTREAM = {
  suite: 'bookworm',
  repository: 'debian-bookworm-upstream',
  pinFile: path.join(REPO_ROOT, 'envs/upstream/docker-base.bookworm'),
} as const;

/** A parsed pin: `name@sha256:<64 hex>`, without a registry host. */
export interface PinnedReference {
  /** Repository name in the registry, without the host. */
  repository: string;
  digest: string;
  /** `repository@digest`. */
  reference: string;
}

const DIGEST_REFERENCE = /^([a-z0-9][a-z0-9._:/-]*[a-z0-9])@(sha256:[0-9a-f]{64})$/;

/** The reference an engine pulls: the pinned image in the configured registry. */
export function inRegistry(pinned: PinnedReference, registry: string = registryHost()): string {
  return `${registry}/${pinned.reference}`;
}

/** Path of a pin file relative to the repository, for messages. */
export function displayPath(file: string): string {
  const relative = path.relative(REPO_ROOT, file);
  return relative.startsWith('..') ? file : relative;
}

/** Parses `name@sha256:digest`; returns undefined when it is not one. */
export function parseDigestReference(text: string): PinnedReference | undefined {
  const match = DIGEST_REFERENCE.exec(text);
  if (match === null) return undefined;
  return { repository: match[1]!, digest: match[2]!, reference: text };
}

/**
 * Parses a pin file: exactly one reference by digest on its own line (blank lines and `#`
 * comments allowed). Tags alone are refused because they move.
 */
export function parsePinText(file: string, text: string): PinnedReference {
  const where = displayPath(file);
  const lines = text.split('\n').map((raw, index) => ({ line: index + 1, value: raw.trim() }));
  const entries = lines.filter(({ value }) => value !== '' && !value.startsWith('#'));
  if (entries.length === 0) {
    throw new UserError(formatProblem({ file: where, message: 'no image reference: expected one line "name@sha256:<digest>"' }));
  }
  if (entries.length > 1) {
    throw new UserError(
      formatProblem({ file: where, line: entries[1]!.line, message: `second reference "${entries[1]!.value}": a pin file holds exactly one` }),
    );
  }
  const { line, value } = entries[0]!;
  const pinned = parseDigestReference(value);
  if (pinned === undefined) {
    const rule = value.includes('@')
      ? 'expected "name@sha256:" followed by 64 lower-case hex digits'
      : 'a reference without a digest is refused: expected "name@sha256:<digest>"';
    throw new UserError(formatProblem({ file: where, line, message: `reference "${value}": ${rule}` }));
  }
  const host = pinned.repository.split('/')[0]!;
  if (pinned.repository.includes('/') && (host.includes('.') || host.includes(':') || host === 'localhost')) {
    const bare = `${pinned.repository.slice(host.length + 1)}@${pinned.digest}`;
    throw new UserError(
      formatProblem({ file: where, line, message: `reference "${value}" names the registry ${host}: a pin is "${bare}", the registry is ICOS_REGISTRY` }),
    );
  }
  return pinned;
}

/** Reads and parses a pin file; a missing file is a located error too. */
export async function readPin(file: string, hint?: string): Promise<PinnedReference> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`${displayPath(file)}: pin file not found`, hint);
    }
    throw error;
  }
  return parsePinText(file, text);
}

/** The text written to a pin file: the reference and a newline, like upstream's. */
export function pinText(pinned: PinnedReference): string {
  return `${pinned.reference}\n`;
}

/** Context directory of an OS's container build. */
export function contextDir(os: ContainerOs): string {
  return path.join(REPO_ROOT, 'envs', os, 'context');
}

/** Pin file of an OS's base image for one env. */
export function basePinFile(os: ContainerOs, env: BuildEnv): string {
  return path.join(contextDir(os), `docker-base.${env}`);
}

/** Repository name of an OS's base image for one env (dev gets a `-dev` suffix, as upstream). */
export function baseRepository(os: ContainerOs, env: BuildEnv): string {
  return `${os}-base${env === 'dev' ? '-dev' : ''}`;
}

/**
 * Checks the base a rootfs build is asked to use. Prod takes only a digest-pinned prod base
 * (an unpinned or dev base would ship unreviewed packages); dev takes any reference.
 */
export function checkBaseForEnv(os: ContainerOs, env: BuildEnv, reference: string, source: string): void {
  if (env !== 'prod') return;
  const pinned = parseDigestReference(reference);
  if (pinned === undefined) {
    throw new UserError(`${source}: base image "${reference}" is not pinned by digest: a prod build takes only "name@sha256:<digest>"`);
  }
  const prodBase = `${registryHost()}/${baseRepository(os, 'prod')}`;
  if (pinned.repository !== prodBase) {
    throw new UserError(`${source}: base image "${reference}" is not the prod base "${prodBase}": a prod build refuses dev or foreign bases`);
  }
}
