import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { readRegularFile, readRegularText } from '../lib/input-file.ts';
import { quoted } from '../messages.ts';
import { KeySourceSchema, checkKeySource, keyFile, type KeySource } from '../signing/key-source.ts';
import { parsePrivateKey } from '../signing/minisign.ts';
import type { ArtifactKind } from './kind.ts';
import { artifactLabel } from './rootfs-options.ts';
import { SUMS_FILE, hashFile, manifestText, parseSums, signRelease, type ReleaseFile } from './release-signature/release.ts';

/**
 * `release-signature`: the signed release manifest of one env and the minisign signatures of it
 * and of `SHA256SUMS` (release-signature/release.ts has the formats). The main output is
 * `SHA256SUMS.minisig`; the further outputs are the manifest, its signature and the public key.
 * Every release file is hashed here again and must match what SHA256SUMS says: the signature
 * vouches for both lists, so they may not disagree.
 */

const optionsSchema = z
  .object({
    artifact: z.string().min(1),
    os: z.string().min(1),
    env: z.string().min(1),
    /** One-line version file (bazel: version.txt). */
    version: z.string().min(1),
    /** The release files SHA256SUMS lists (their base names are their names in the release). */
    files: z.array(z.string().min(1)).min(1),
    /** The SHA256SUMS of `files`. */
    sums: z.string().min(1),
    /** Release name of a verity image -> file holding its root hash in hex. */
    rootHashes: z.record(z.string().min(1), z.string().min(1)).default({}),
    keys: KeySourceSchema,
  })
  .strict();

export type ReleaseSignatureOptions = z.infer<typeof optionsSchema>;

export interface ReleaseSignaturePlan {
  artifact: string;
  os: string;
  env: string;
  version: string;
  files: string[];
  sums: string;
  rootHashes: Record<string, string>;
  keys: KeySource;
}

/** The further outputs, by the names a Bazel manifest gives them in `outs`. */
export const RELEASE_OUTPUTS = ['manifest', 'manifestSignature', 'publicKey'] as const;

function plan(options: ReleaseSignatureOptions): ReleaseSignaturePlan {
  const artifact = artifactLabel('release-signature', options.artifact);
  // Keys first: a prod build without its key directory fails before anything is read.
  checkKeySource(options.keys, artifact);
  const names = [...options.files, options.sums].map((file) => path.basename(file));
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) throw new UserError(`${artifact}: two release files are named ${quoted(twice)}`);
  if (path.basename(options.sums) !== SUMS_FILE) throw new UserError(`${artifact}: --sums ${quoted(options.sums)}: must be named ${SUMS_FILE}`);
  return { ...options, artifact };
}

async function readVersion(file: string, artifact: string): Promise<string> {
  const text = await readRegularText(file, `${artifact}: version file ${quoted(file)}`, { maxBytes: 4096 });
  const version = text.replace(/\n$/, '');
  if (version === '' || /[\n\r]/.test(version)) throw new UserError(`${artifact}: version file ${quoted(file)}: expected one non-empty line`);
  return version;
}

async function readRootHash(file: string, artifact: string): Promise<string> {
  const text = (await readRegularText(file, `${artifact}: root hash ${quoted(file)}`, { maxBytes: 4096 })).trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new UserError(`${artifact}: root hash ${quoted(file)}: expected 64 hex digits`);
  return text;
}

/** Hashes every release file and checks SHA256SUMS says the same, entry for entry. */
async function releaseFiles(plan: ReleaseSignaturePlan, sumsText: string): Promise<ReleaseFile[]> {
  const where = `${plan.artifact}: ${plan.sums}`;
  const listed = parseSums(sumsText, where);
  const files = await Promise.all(
    plan.files.map(async (file) => ({ name: path.basename(file), ...(await hashFile(file, `${plan.artifact}: release file ${quoted(file)}`)) })),
  );
  for (const file of files) {
    const said = listed.get(file.name);
    if (said === undefined) throw new UserError(`${where}: does not list ${quoted(file.name)}`);
    if (said !== file.sha256) throw new UserError(`${where}: says ${quoted(file.name)} has sha256 ${said}, the file has ${file.sha256}`);
  }
  const extra = [...listed.keys()].filter((name) => !files.some((file) => file.name === name));
  if (extra.length > 0) throw new UserError(`${where}: lists ${extra.map(quoted).join(', ')}, not a release file of ${plan.artifact}`);
  return files;
}

async function build(plan: ReleaseSignaturePlan, outPath: string, _deps: unknown, extraPaths: Readonly<Record<string, string>> = {}): Promise<void> {
  const keyPath = await keyFile(plan.keys, 'release.key', plan.artifact);
  // The key is parsed here and only held in memory; messages name its file, never its bytes.
  const key = parsePrivateKey(await readFile(keyPath), `${plan.artifact}: ${keyPath}`);
  const sums = await readRegularFile(plan.sums, `${plan.artifact}: ${plan.sums}`, { maxBytes: 1 << 20 });
  const files = await releaseFiles(plan, sums.toString('utf8'));
  const rootHashes: Record<string, string> = {};
  for (const [name, file] of Object.entries(plan.rootHashes)) rootHashes[name] = await readRootHash(file, plan.artifact);
  const manifest = manifestText({
    os: plan.os,
    env: plan.env,
    version: await readVersion(plan.version, plan.artifact),
    files: [...files, { name: SUMS_FILE, sha256: createHash('sha256').update(sums).digest('hex'), size: sums.length }],
    verityRootHashes: rootHashes,
  });
  const signed = signRelease(sums, Buffer.from(manifest), key);
  await writeFile(outPath, signed.sumsSignature);
  await writeFile(extraPaths.manifest!, manifest);
  await writeFile(extraPaths.manifestSignature!, signed.manifestSignature!);
  await writeFile(extraPaths.publicKey!, signed.publicKey);
}

/** The `release-signature` artifact kind. */
export const releaseSignatureKind: ArtifactKind<ReleaseSignatureOptions, ReleaseSignaturePlan> = {
  name: 'release-signature',
  options: optionsSchema,
  plan,
  build,
  extraOutputs: RELEASE_OUTPUTS,
};
