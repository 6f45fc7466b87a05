import path from 'node:path';
import type { CommandRunner, ContainerEngine, Logger } from '../definitions.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { displayPath, parseDigestReference, type PinnedReference, registryHost, UPSTREAM } from './base-pins.ts';
import { withEngineResources } from './engine-resources.ts';
import { localPinFile, type PinRecord, recordPin } from './local-base.ts';
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
 * pushes it to the configured registry, records its pin (tracked, or the local stand-in) and
 * keeps its package list.
 */
export async function bootstrapUpstream(deps: ContainerDeps, record: PinRecord = 'tracked'): Promise<BootstrapResult> {
  const { engine, runner, log } = deps;
  await engine.ping();
  const tagged = `${registryHost()}/${UPSTREAM.repository}:latest`;
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
    await recordPin(UPSTREAM.pinFile, pinned, record);
    const written = record === 'local' ? localPinFile(UPSTREAM.pinFile) : UPSTREAM.pinFile;
    log.info(`${displayPath(written)}: ${pinned.reference} (${packages.size} packages, list in ${displayPath(file)})`);
    return { pinned, manifest: file, packageCount: packages.size };
  });
}
