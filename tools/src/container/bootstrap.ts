import path from 'node:path';
import type { CommandRunner, ContainerEngine, Logger } from '../definitions.ts';
import { withScratchDir, writeAtomically } from '../lib/atomic-output.ts';
import { writeFile } from 'node:fs/promises';
import { displayPath, parseDigestReference, type PinnedReference, pinText, UPSTREAM } from './base-pins.ts';
import { withEngineResources } from './engine-resources.ts';
import { recordPackages } from './package-manifest.ts';

export interface ContainerDeps {
  engine: ContainerEngine;
  runner: CommandRunner;
  log: Logger;
}

/**
 * mmdebstrap options for the upstream root: the smallest variant that still has apt (the base
 * Dockerfiles install the rest), the archive's default mirror (no host named here), and
 * SOURCE_DATE_EPOCH (set by the command runner) for file times.
 */
export function mmdebstrapArgs(suite: string, tarPath: string): string[] {
  return [
    '--variant=minbase',
    '--format=tar',
    '--aptopt=Acquire::Retries "3"',
    '--dpkgopt=path-exclude=/usr/share/doc/*',
    '--dpkgopt=path-include=/usr/share/doc/*/copyright',
    suite,
    tarPath,
  ];
}

export interface BootstrapResult {
  pinned: PinnedReference;
  manifest: string;
  packageCount: number;
}

/**
 * `icos base bootstrap`: makes the Debian root with mmdebstrap, imports it into the engine,
 * pushes it to the local registry, writes its pin file and keeps its package list.
 */
export async function bootstrapUpstream(deps: ContainerDeps): Promise<BootstrapResult> {
  const { engine, runner, log } = deps;
  await engine.ping();
  const tagged = `${UPSTREAM.repository}:latest`;
  return withScratchDir('bootstrap', async (dir) => {
    const tarPath = path.join(dir, 'root.tar');
    log.info(`Bootstrapping Debian ${UPSTREAM.suite} with mmdebstrap (about a minute)`);
    await runner.run('mmdebstrap', mmdebstrapArgs(UPSTREAM.suite, tarPath), { artifact: `bootstrap(${UPSTREAM.suite})` });
    log.info(`Importing into ${engine.endpoint} as ${tagged}`);
    await engine.importImage(tarPath, tagged);
    const digest = await engine.pushImage(tagged);
    const pinned = parseDigestReference(`${UPSTREAM.repository}@${digest}`)!;
    const { packages, file } = await withEngineResources(engine, log, (resources) =>
      recordPackages(engine, tagged, digest, resources),
    );
    await writeAtomically(UPSTREAM.pinFile, (temp) => writeFile(temp, pinText(pinned)));
    log.info(`${displayPath(UPSTREAM.pinFile)}: ${pinned.reference} (${packages.size} packages, list in ${displayPath(file)})`);
    return { pinned, manifest: file, packageCount: packages.size };
  });
}
