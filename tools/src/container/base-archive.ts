import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { CommandRunner, Logger } from '../definitions.ts';
import { UserError } from '../errors.ts';
import { withScratchDir, writeAtomically } from '../lib/atomic-output.ts';
import { statRegularFile } from '../lib/input-file.ts';
import { MESSAGES } from '../messages.ts';
import { displayPath, inRegistry, parseDigestReference, type PinnedReference, registryHost } from './base-pins.ts';
import { readEffectivePin, removeLocalPin } from './local-base.ts';

/**
 * `icos base export` / `icos base import`: pinned base images carried between machines as one
 * tar, digests preserved. Each image is skopeo's `dir:` copy (the registry's manifest and blobs as
 * they are): an OCI layout would do, but skopeo 1.9 reads only OCI manifests from one and
 * converting Docker's schema-2 manifests would change the digests the pins name.
 */

export const ARCHIVE_FORMAT = 'icos-bases/1';
const INDEX = 'icos-bases.json';

const indexSchema = z
  .object({
    format: z.literal(ARCHIVE_FORMAT),
    images: z.array(z.object({ reference: z.string(), dir: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/) }).strict()),
  })
  .strict();

export interface ArchiveDeps {
  runner: CommandRunner;
  log: Logger;
}

/** skopeo's TLS switch: plain HTTP only for a registry on this machine, as the engines allow. */
function tlsVerify(registry: string): string {
  return `--tls-verify=${!/^(127\.|localhost(:|$)|\[::1\])/.test(registry)}`;
}

/**
 * The runner gives tools a fixed environment without HOME, so skopeo finds no stored login:
 * REGISTRY_AUTH_FILE (skopeo's own variable; docker's config.json works) is passed on when set.
 */
function registryAuth(): Record<string, string> {
  const file = process.env.REGISTRY_AUTH_FILE;
  return file === undefined || file === '' ? {} : { REGISTRY_AUTH_FILE: file };
}

function directoryOf(pinned: PinnedReference): string {
  return `${pinned.repository.replaceAll('/', '_')}-${pinned.digest.slice('sha256:'.length, 'sha256:'.length + 16)}`;
}

/** Writes the tracked pins' images (never local stand-ins: they are not what others pinned) to `out`. */
export async function exportBases(pinFiles: readonly string[], out: string, deps: ArchiveDeps): Promise<PinnedReference[]> {
  const registry = registryHost();
  const effective = await Promise.all(pinFiles.map((file) => readEffectivePin(file)));
  // A stand-in means the registry lacked the pinned image when `icos base ensure` ran: say so
  // before anything is copied, not as skopeo's "manifest unknown".
  const standIn = effective.find((pin) => pin.local !== undefined);
  if (standIn !== undefined) {
    throw new UserError(
      `${standIn.source}: this machine builds on a stand-in (${standIn.use.reference}), not on the pinned ${standIn.tracked.reference}: there is no pinned image here to export`,
      'export on a machine whose registry holds the pinned images (`icos base ensure` there leaves no *.local file)',
    );
  }
  const pins = effective.map((pin) => pin.tracked);
  return withScratchDir('base-export', async (scratch) => {
    for (const pinned of pins) {
      deps.log.info(`exporting ${inRegistry(pinned, registry)}`);
      const source = `docker://${inRegistry(pinned, registry)}`;
      await deps.runner.run('skopeo', ['copy', '--quiet', '--preserve-digests', tlsVerify(registry).replace('--', '--src-'), source, `dir:${path.join(scratch, directoryOf(pinned))}`], {
        artifact: `base export (${pinned.reference})`,
        env: registryAuth(),
      });
    }
    const index = { format: ARCHIVE_FORMAT, images: pins.map((pinned) => ({ reference: pinned.reference, dir: directoryOf(pinned) })) };
    await writeFile(path.join(scratch, INDEX), `${JSON.stringify(index, null, 2)}\n`);
    // Sorted, numeric owners, one mtime: the same images give the same archive bytes.
    const members = [INDEX, ...index.images.map((image) => image.dir)];
    await writeAtomically(out, (temp) =>
      deps.runner.run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu', '-cf', temp, '-C', scratch, ...members], {
        artifact: `base export (${out})`,
      }).then(() => undefined),
    );
    return pins;
  });
}

async function readIndex(file: string, where: string): Promise<z.infer<typeof indexSchema>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new UserError(`${where}: no readable ${INDEX}: not an archive of \`icos base export\``);
  }
  const result = indexSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new UserError(`${where}: ${INDEX}: ${issue.path.join('.') || 'index'}: ${issue.message} (expected format ${ARCHIVE_FORMAT})`);
  }
  return result.data;
}

/**
 * Pushes every image of an export archive to the configured registry by its digest. Each
 * manifest is checked against the digest its pin names before anything is pushed, and the
 * registry's digest after; a tracked pin that is now available loses its local stand-in.
 */
export async function importBases(archive: string, pinFiles: readonly string[], deps: ArchiveDeps): Promise<PinnedReference[]> {
  const registry = registryHost();
  const where = displayPath(archive);
  await statRegularFile(archive, where);
  return withScratchDir('base-import', async (scratch) => {
    await deps.runner.run('tar', ['-xf', archive, '-C', scratch, '--no-same-owner', '--no-same-permissions'], { artifact: `base import (${where})` });
    const index = await readIndex(path.join(scratch, INDEX), where);
    const images = index.images.map(({ reference, dir }) => {
      const pinned = parseDigestReference(reference);
      if (pinned === undefined) throw new UserError(`${where}: ${INDEX}: reference "${reference}" is not "name@sha256:<digest>"`);
      return { pinned, dir: path.join(scratch, dir) };
    });
    for (const { pinned, dir } of images) {
      const manifest = await readFile(path.join(dir, 'manifest.json')).catch((error: unknown) => {
        throw new UserError(MESSAGES.cannotRead(`${where}: ${path.basename(dir)}/manifest.json`, error));
      });
      const actual = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
      if (actual !== pinned.digest) {
        throw new UserError(`${where}: ${path.basename(dir)}/manifest.json has digest ${actual}, not the ${pinned.digest} its index names: nothing imported`);
      }
    }
    for (const { pinned, dir } of images) {
      const target = `${registry}/${pinned.repository}:${pinned.digest.replace(':', '-')}`;
      deps.log.info(`importing ${pinned.reference} into ${registry}`);
      await deps.runner.run('skopeo', ['copy', '--quiet', '--preserve-digests', tlsVerify(registry).replace('--', '--dest-'), `dir:${dir}`, `docker://${target}`], {
        artifact: `base import (${pinned.reference})`,
        env: registryAuth(),
      });
    }
    for (const pinFile of pinFiles) {
      const pin = await readEffectivePin(pinFile).catch(() => undefined);
      if (pin?.local !== undefined && images.some(({ pinned }) => pinned.reference === pin.tracked.reference)) await removeLocalPin(pinFile);
    }
    return images.map(({ pinned }) => pinned);
  });
}
