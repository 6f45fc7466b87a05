import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../../errors.ts';
import { readVolumeTable } from '../../inputs/volumes-csv.ts';
import { FrameLibrary, readFrameIndex } from '../../kinds/sparse-tar/frames.ts';
import { unpackFramedArchive } from '../../kinds/sparse-tar/reader.ts';
import { type BuildDeps, makeArtifact, parseOptions } from '../../kinds/kind.ts';
import { KINDS } from '../../kinds/registry.ts';
import { compressionForPath, sparseTarKind } from '../../kinds/sparse-tar.ts';
import { verityKind, writeVerityImage } from '../../kinds/verity.ts';
import { withScratchDir, writeAtomicallyTogether } from '../../lib/atomic-output.ts';
import { readRegularText } from '../../lib/input-file.ts';
import { notJson } from '../../messages.ts';
import { defineCommand } from '../command.ts';

/**
 * `icos build --manifest F.json`: one artifact described by a JSON manifest, as the Bazel rules
 * write it. Partition images travel between Bazel actions packed (`.tzst`, a sparse tar of one
 * member, as in IC-OS) because Bazel hashes every output byte, holes included: a manifest names
 * the archives to unpack into a scratch directory and whether the result is packed the same way.
 */

/** Option values of this form are replaced by the path of the unpacked member NAME. */
const UNPACKED_PREFIX = 'unpacked:';

const manifestSchema = z
  .object({
    /** Artifact kind, a key of KINDS. */
    kind: z.string().min(1),
    /** Output file. */
    out: z.string().min(1),
    /** The kind's raw options (as its zod schema reads them). */
    options: z.record(z.string(), z.unknown()),
    /** NAME -> packed image: each archive's one member is unpacked, and `unpacked:NAME` names it. */
    unpack: z.record(z.string().regex(/^[\w.-]+$/), z.string().min(1)).default({}),
    /** Build into scratch and write `out` as a sparse tar holding the result as this member. */
    packAs: z.string().regex(/^[\w.-]+$/).optional(),
    /** How `packAs` compresses: `zstd-fast` for intermediates; default from the extension of `out`. */
    packCompression: z.enum(['zstd', 'zstd-fast', 'none']).optional(),
    /** verity only: the file that receives the root hash in hex and a newline. */
    rootHashOut: z.string().min(1).optional(),
    /** Kinds with further outputs (ArtifactKind.extraOutputs): NAME -> file, written with `out`. */
    outs: z.record(z.string(), z.string().min(1)).optional(),
  })
  .strict();

type Manifest = z.infer<typeof manifestSchema>;

async function readManifest(file: string): Promise<Manifest> {
  let data: unknown;
  try {
    data = JSON.parse(await readRegularText(file, `manifest "${file}"`));
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`manifest "${file}": ${error instanceof SyntaxError ? notJson(error) : String(error)}`);
  }
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `field "${issue.path.join('.')}": ${issue.message}`);
    throw new UserError(`manifest "${file}": ${issues.join('; ')}`);
  }
  const manifest = parsed.data;
  if (!(manifest.kind in KINDS)) {
    throw new UserError(`manifest "${file}": kind "${manifest.kind}": expected one of ${Object.keys(KINDS).join(', ')}`);
  }
  if (manifest.packCompression !== undefined && (manifest.packAs === undefined || compressionForPath(manifest.out) === 'none')) {
    throw new UserError(`manifest "${file}": field "packCompression": needs "packAs" and an "out" ending in .tzst or .tar.zst`);
  }
  if (manifest.rootHashOut !== undefined && manifest.kind !== 'verity') {
    throw new UserError(`manifest "${file}": field "rootHashOut": only the verity kind has a root hash`);
  }
  if (manifest.outs !== undefined && manifest.packAs !== undefined) {
    throw new UserError(`manifest "${file}": field "outs": not with "packAs" (only the main output is packed)`);
  }
  return manifest;
}

/** Unpacks each archive's only member into `dir`; returns NAME -> path of the raw image. */
async function unpackAll(unpack: Record<string, string>, dir: string, deps: BuildDeps): Promise<Map<string, string>> {
  const paths = new Map<string, string>();
  for (const [name, archive] of Object.entries(unpack)) {
    const into = path.join(dir, `unpacked-${name}`);
    const zstd = compressionForPath(archive) === 'zstd' ? ['--zstd'] : [];
    await mkdir(into);
    if ((await readFrameIndex(archive)) !== undefined) {
      paths.set(name, await unpackFramedArchive(archive, into, dir, deps.runner));
      continue;
    }
    // Archives from elsewhere: GNU tar. -v lists the members while extracting (one decompression).
    const { stdout } = await deps.runner.run('tar', ['-x', '-v', ...zstd, '-f', archive, '-C', into], { artifact: `unpack(${archive})` });
    const members = stdout.split('\n').filter((line) => line !== '');
    if (members.length !== 1) {
      throw new UserError(`unpack(${archive}): expected one member, found ${members.length} (${members.join(', ')})`);
    }
    paths.set(name, path.join(into, members[0]!));
  }
  return paths;
}

/** Replaces every `unpacked:NAME` string inside the options by the unpacked path. */
function substitute(value: unknown, unpacked: ReadonlyMap<string, string>, file: string): unknown {
  if (typeof value === 'string' && value.startsWith(UNPACKED_PREFIX)) {
    const name = value.slice(UNPACKED_PREFIX.length);
    const found = unpacked.get(name);
    if (found === undefined) throw new UserError(`manifest "${file}": "${value}": no "${name}" in field "unpack"`);
    return found;
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, unpacked, file));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, substitute(item, unpacked, file)]));
  }
  return value;
}

/** Manifests name input files; a few kinds take them parsed (the same step their command does). */
async function resolveInputs(kind: string, options: Record<string, unknown>): Promise<Record<string, unknown>> {
  if (kind === 'lvm' && typeof options.volumes === 'string') return { ...options, volumes: await readVolumeTable(options.volumes) };
  return options;
}

/** Builds the manifest's artifact at `target` (the out path, or a scratch file that is packed next). */
async function buildArtifact(manifest: Manifest, options: unknown, target: string, deps: BuildDeps): Promise<void> {
  if (manifest.rootHashOut === undefined) {
    await makeArtifact(KINDS[manifest.kind]!, options, target, deps, manifest.outs);
    return;
  }
  const plan = await verityKind.plan(parseOptions(verityKind, options));
  const hashOut = manifest.rootHashOut;
  // Both or neither: the root hash is written after the image and renamed into place with it.
  await writeAtomicallyTogether([{ path: target }, { path: hashOut }], async ([imageTemp, hashTemp]) =>
    writeFile(hashTemp!, `${await writeVerityImage(plan, imageTemp!)}\n`),
  );
}

/** Reads a manifest and makes its artifact. */
export async function buildFromManifest(file: string, deps: BuildDeps): Promise<void> {
  const manifest = await readManifest(file);
  await withScratchDir('build', async (dir) => {
    // Packed outputs copy the compressed frames their packed inputs already hold.
    deps = { ...deps, frames: await FrameLibrary.fromArchives(Object.values(manifest.unpack)) };
    const unpacked = await unpackAll(manifest.unpack, dir, deps);
    const options = await resolveInputs(manifest.kind, substitute(manifest.options, unpacked, file) as Record<string, unknown>);
    if (manifest.packAs === undefined) {
      await buildArtifact(manifest, options, manifest.out, deps);
      return;
    }
    const image = path.join(dir, manifest.packAs);
    await buildArtifact(manifest, options, image, deps);
    const kind = KINDS[manifest.kind]!;
    const origins = await kind.packOrigins?.(parseOptions(kind, options));
    const members = [{ name: manifest.packAs, path: image, ...(origins === undefined ? {} : { origins }) }];
    const compression = manifest.packCompression ?? compressionForPath(manifest.out);
    await makeArtifact(sparseTarKind, { members, compression }, manifest.out, deps);
  });
}

/** `icos build`: the entry point of the Bazel rules. */
export const buildCommand = defineCommand({
  command: 'build',
  describe: 'Make the artifact a JSON manifest describes ({kind, out, options, unpack?, packAs?, rootHashOut?, outs?})',
  builder: (y) => y.option('manifest', { type: 'string', demandOption: true, describe: 'Manifest file (JSON)' }),
  async run(args, deps) {
    await buildFromManifest(args.manifest, deps);
  },
});
