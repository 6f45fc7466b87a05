import { createPublicKey, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { SECTOR_SIZE } from '../inputs/tables.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { readRegularFile, readRegularText, statRegularFile } from '../lib/input-file.ts';
import { quoted } from '../messages.ts';
import { KeySourceSchema, readReleaseKey } from '../signing/key-source.ts';
import { derivedKeyId, parsePrivateKey, signBytes } from '../signing/minisign.ts';
import type { ArtifactKind, BuildDeps } from './kind.ts';
import { hashFile, untrustedComment } from './release-signature/release.ts';
import { artifactLabel } from './rootfs-options.ts';
import { sparseTarKind, type SparseTarPlan } from './sparse-tar.ts';

/**
 * `upgrade-image`: the IC-OS upgrade artifact (`update-img.tar.zst`), a sparse tar with the members
 * `MANIFEST.TXT`, `MANIFEST.TXT.minisig`, `boot.img`, `root.img` and `VERSION.TXT` in that order,
 * bare names and no directory entry. IC-OS's dflate layout has the last three; the manifest and its
 * signature come first so that a node's upgrade tool (components/upgrade/manageboot.sh) reads them
 * from the head of the stream and refuses an unsigned or foreign-signed image, or one of another OS
 * or of other sizes, before it reads on or writes anything.
 *
 * Signing the manifest signs the whole image: it holds boot.img's sha256, boot.img's signed
 * boot_args hold the root's dm-verity root hash, and the version is in the manifest. The signature is
 * minisign's prehashed form with the env's `release.key` (keys/README.md), the key whose public half
 * the OS's root carries (the `minisign-public-key` kind), so `minisign -Vm MANIFEST.TXT -p KEY`
 * checks it too.
 */

/** The manifest's member name and its `key=value` lines (manageboot.sh parses them). */
export const MANIFEST_MEMBER = 'MANIFEST.TXT';
/** The manifest's minisign signature, the second member. */
export const MANIFEST_SIGNATURE_MEMBER = 'MANIFEST.TXT.minisig';

/**
 * The manifest: the OS, the version, and each image's size; boot.img also has its sha256 (of all
 * its bytes, holes read as zeros). root.img needs none: the dm-verity root hash in boot.img's
 * boot_args covers every byte of it.
 */
export function manifestText(os: string, version: string, boot: { size: number; sha256: string }, rootSize: number): string {
  return [
    '# icos upgrade image: what manageboot.sh checks before and after it writes a slot',
    `os=${os}`,
    `version=${version}`,
    `boot.img.bytes=${boot.size}`,
    `boot.img.sha256=${boot.sha256}`,
    `root.img.bytes=${rootSize}`,
    '',
  ].join('\n');
}

const KIND = 'upgrade-image';

/**
 * A version is one line of letters, digits, ".", "_", "+" and "-", starting with a letter or digit
 * and at most 128 characters: a git commit, `<commit>-test`, or a free dev label. Nodes and the
 * CDN use it in URLs and file names, so whitespace, "/" and other punctuation are refused.
 * manageboot.sh checks a manifest's version with the same expression (test/upgrade/manageboot.test.ts).
 */
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

const options = z.object({
  /** The OS the images are of (an `envs/oses.json` name): the manifest's `os`, which nodes check. */
  os: z.string().regex(/^[a-z][a-z0-9-]*$/, 'an OS name: lower-case letters, digits and "-"'),
  /** The boot partition image, stored as `boot.img`. */
  boot: z.string().min(1),
  /** The (signed, verity-protected) root partition image, stored as `root.img`. */
  root: z.string().min(1),
  /** The version file, stored byte for byte as `VERSION.TXT`. */
  version: z.string().min(1),
  compression: z.enum(['zstd', 'zstd-fast', 'none']).default('zstd'),
  /** The Bazel target, named in key messages (`upgrade-image(dev:update-img.tar.zst): ...`). */
  artifact: z.string().min(1).optional(),
  /** Where `release.key` is (Bazel: the test keys or prod's directory). */
  keys: KeySourceSchema.optional(),
  /** Or the key file itself (`icos upgrade-image --key`). */
  keyFile: z.string().min(1).optional(),
}).strict();

export type UpgradeImageOptions = z.infer<typeof options>;

/** The checked version, the images and the archive plan of the image members. */
export interface UpgradeImagePlan {
  os: string;
  version: string;
  boot: string;
  root: string;
  /** release.key, read and checked by the plan (held in memory only). */
  signingKey: KeyObject;
  archive: SparseTarPlan;
}

/** A version line is at most 128 characters: anything much larger is not a version file. */
const MAX_VERSION_FILE_BYTES = 4096;

function readVersionFile(file: string): Promise<string> {
  // Not /dev/zero or a FIFO (an endless or blocking read): a regular file of a few bytes.
  return readRegularText(file, `${KIND}: version file "${file}"`, { maxBytes: MAX_VERSION_FILE_BYTES });
}

/** Checks the version file's text: one line (a final newline allowed) matching VERSION_PATTERN. */
export function parseVersion(text: string, file: string): string {
  const lines = text.replace(/\n$/, '').split('\n');
  if (lines.length > 1) {
    throw new UserError(`${KIND}: version file "${file}" line 2: ${quoted(lines[1]!)}: expected a single line`);
  }
  const version = lines[0]!;
  if (version === '') throw new UserError(`${KIND}: version file "${file}": is empty`);
  if (!VERSION_PATTERN.test(version)) {
    throw new UserError(
      `${KIND}: version file "${file}" line 1: ${quoted(version)}: expected a git commit, "<commit>-test" or up to 128 ` +
        'letters, digits, ".", "_", "+" and "-" (no whitespace)',
    );
  }
  return version;
}

/** boot.img and root.img are written onto partitions: an image of part of a sector is not one. */
async function checkWholeSectors(image: string, flag: string): Promise<void> {
  const where = `${KIND}: ${flag} ${quoted(image)}`;
  const { size } = await statRegularFile(image, where);
  if (size % SECTOR_SIZE !== 0) {
    throw new UserError(`${where}: is ${size} bytes, not a whole number of ${SECTOR_SIZE}-byte sectors (a partition image)`);
  }
}

/**
 * The manifest's signing key: exactly one of `keys` and `keyFile`. A prod key source without its
 * directory fails before any file is read; messages name the key file, never its bytes.
 */
async function readSigningKey(opts: UpgradeImageOptions): Promise<KeyObject> {
  if ((opts.keys === undefined) === (opts.keyFile === undefined)) {
    throw new UserError(`${KIND}: the manifest is signed: give its key as keys (a key directory) or keyFile (--key release.key), one of them`);
  }
  if (opts.keys !== undefined) return readReleaseKey(opts.keys, opts.artifact === undefined ? KIND : artifactLabel(KIND, opts.artifact));
  const where = `${KIND}: --key ${quoted(opts.keyFile!)}`;
  return parsePrivateKey(await readRegularFile(opts.keyFile!, where, { maxBytes: 16384 }), where);
}

async function plan(opts: UpgradeImageOptions): Promise<UpgradeImagePlan> {
  const signingKey = await readSigningKey(opts);
  const version = parseVersion(await readVersionFile(opts.version), opts.version);
  const archive = await sparseTarKind.plan({
    members: [
      { name: 'boot.img', path: opts.boot },
      { name: 'root.img', path: opts.root },
      { name: 'VERSION.TXT', path: opts.version },
    ],
    compression: opts.compression,
  });
  for (const [flag, image] of [['--boot', opts.boot], ['--root', opts.root]] as const) await checkWholeSectors(image, flag);
  return { os: opts.os, version, boot: opts.boot, root: opts.root, signingKey, archive };
}

/** What `minisign -V` prints of the signature; the manifest it signs holds the same facts. */
function manifestTrustedComment(os: string, version: string): string {
  return `icos upgrade image ${os} ${version} file:${MANIFEST_MEMBER}`;
}

async function build(image: UpgradeImagePlan, outPath: string, deps: BuildDeps): Promise<void> {
  const key = image.signingKey;
  const boot = await hashFile(image.boot, `${KIND}: --boot ${quoted(image.boot)}`);
  const { size: rootSize } = await statRegularFile(image.root, `${KIND}: --root ${quoted(image.root)}`);
  await withScratchDir('upgrade-manifest', async (dir) => {
    const text = Buffer.from(manifestText(image.os, image.version, boot, rootSize));
    const signature = signBytes(text, key, manifestTrustedComment(image.os, image.version), untrustedComment(derivedKeyId(createPublicKey(key))));
    const manifest = path.join(dir, MANIFEST_MEMBER);
    const manifestSignature = path.join(dir, MANIFEST_SIGNATURE_MEMBER);
    await writeFile(manifest, text);
    await writeFile(manifestSignature, signature);
    // The plan's members and settings (one mtime for all), the manifest and its signature first.
    const members = [{ name: MANIFEST_MEMBER, path: manifest }, { name: MANIFEST_SIGNATURE_MEMBER, path: manifestSignature }, ...image.archive.members];
    await sparseTarKind.build({ ...image.archive, members }, outPath, deps);
  });
}

/** The `upgrade-image` kind (see the module comment). */
export const upgradeImageKind: ArtifactKind<UpgradeImageOptions, UpgradeImagePlan> = { name: KIND, options, plan, build };
