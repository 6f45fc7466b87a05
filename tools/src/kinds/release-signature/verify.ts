/**
 * Checks a signed release folder against a minisign public key: the signatures of SHA256SUMS and
 * of the manifest, then every file either lists (sha256, and size where the manifest gives it).
 * A list whose signature fails is not used to check files: a changed byte is reported once, at
 * the file that holds it. Every problem is collected, each naming its file. The folder's own
 * release.pub, if any, must be the trusted key given.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import { readRegularFile, readRegularText } from '../../lib/input-file.ts';
import { keyIdText, parsePublicKey, parseSignature, signatureProblem, type MinisignPublicKey, type MinisignSignature } from '../../signing/minisign.ts';
import { MANIFEST_FILE, PUBLIC_KEY_FILE, SIGNATURE_SUFFIX, SUMS_FILE, hashFile, parseManifest, parseSums, readSigned, untrustedComment } from './release.ts';

export interface VerifiedRelease {
  keyId: string;
  /** Names of the files checked, sorted. */
  files: string[];
  /** Whether the folder has a manifest. */
  manifest: boolean;
}

function messageOf(error: unknown): string {
  if (error instanceof UserError) return error.message;
  throw error;
}

/** Reads the public key file; `where` names it in messages. */
export async function readPublicKey(file: string): Promise<MinisignPublicKey> {
  return parsePublicKey(await readRegularText(file, `--key ${JSON.stringify(file)}`, { maxBytes: 4096 }), file);
}

function untrustedCommentProblem(signature: MinisignSignature, key: MinisignPublicKey): string | undefined {
  const expected = untrustedComment(key.keyId);
  return signature.untrustedComment === expected ? undefined : `its untrusted comment is not icos's ${JSON.stringify(expected)} (changed since signing)`;
}

/** The public key the folder carries, if any, must be the trusted one given: else it was swapped or changed. */
async function checkFolderKey(dir: string, keyFile: string, problems: string[]): Promise<void> {
  const carried = path.join(dir, PUBLIC_KEY_FILE);
  if ((await stat(carried).catch(() => undefined)) === undefined || path.resolve(carried) === path.resolve(keyFile)) return;
  try {
    const [theirs, ours] = await Promise.all([readRegularFile(carried, carried, { maxBytes: 4096 }), readRegularFile(keyFile, keyFile, { maxBytes: 4096 })]);
    if (!theirs.equals(ours)) problems.push(`${carried}: differs from the trusted key ${keyFile}`);
  } catch (error) {
    problems.push(messageOf(error));
  }
}

/** The bytes of a signed list if its signature holds, else undefined and a problem noted. */
async function checkSigned(dir: string, name: string, key: MinisignPublicKey, problems: string[]): Promise<Buffer | undefined> {
  const file = path.join(dir, name);
  const signatureFile = `${file}${SIGNATURE_SUFFIX}`;
  try {
    const signed = await readSigned(file, file);
    const signature = parseSignature(await readRegularText(signatureFile, signatureFile, { maxBytes: 16384 }), signatureFile);
    // minisign ignores the untrusted comment; icos writes a fixed one, so a changed byte there is seen too.
    const problem = signatureProblem(signature, key, signed) ?? untrustedCommentProblem(signature, key);
    if (problem === undefined) return signed.bytes;
    problems.push(`${signatureFile}: does not verify ${file}: ${problem}`);
  } catch (error) {
    problems.push(messageOf(error));
  }
  return undefined;
}

/**
 * Checks every file the lists name (the bytes of SHA256SUMS and of the manifest, either may be
 * missing) against the folder; notes each problem. Returns the names checked, sorted.
 */
export async function checkListedFiles(dir: string, lists: { sums?: Buffer; manifest?: Buffer }, problems: string[]): Promise<string[]> {
  const expected = new Map<string, { sha256: string; size?: number; from: string }>();
  const expect = (name: string, sha256: string, size: number | undefined, from: string) => {
    const other = expected.get(name);
    if (other !== undefined && other.sha256 !== sha256) {
      problems.push(`${path.join(dir, from)}: says ${JSON.stringify(name)} has sha256 ${sha256}, ${other.from} says ${other.sha256}`);
    }
    expected.set(name, { sha256, size: size ?? other?.size, from });
  };
  try {
    if (lists.sums !== undefined) {
      for (const [name, sha256] of parseSums(lists.sums.toString('utf8'), path.join(dir, SUMS_FILE))) expect(name, sha256, undefined, SUMS_FILE);
    }
  } catch (error) {
    problems.push(messageOf(error));
  }
  try {
    if (lists.manifest !== undefined) {
      for (const file of parseManifest(lists.manifest.toString('utf8'), path.join(dir, MANIFEST_FILE)).files) expect(file.name, file.sha256, file.size, MANIFEST_FILE);
    }
  } catch (error) {
    problems.push(messageOf(error));
  }

  const names = [...expected.keys()].sort();
  const results = await Promise.all(
    names.map(async (name) => {
      const file = path.join(dir, name);
      try {
        return { name, file, actual: await hashFile(file, file) };
      } catch (error) {
        return { name, file, error: messageOf(error) };
      }
    }),
  );
  for (const result of results) {
    const want = expected.get(result.name)!;
    if (result.error !== undefined) {
      problems.push(`${result.error} (listed in ${want.from})`);
      continue;
    }
    if (want.size !== undefined && result.actual!.size !== want.size) {
      problems.push(`${result.file}: is ${result.actual!.size} bytes, ${MANIFEST_FILE} says ${want.size}`);
    } else if (result.actual!.sha256 !== want.sha256) {
      problems.push(`${result.file}: changed: sha256 ${result.actual!.sha256}, ${want.from} says ${want.sha256}`);
    }
  }
  return names;
}

/** Whether the folder has a manifest or its signature (a folder signed outside Bazel may have only SHA256SUMS). */
export async function hasManifest(dir: string): Promise<boolean> {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  for (const file of [manifestPath, `${manifestPath}${SIGNATURE_SUFFIX}`]) {
    if ((await stat(file).catch(() => undefined)) !== undefined) return true;
  }
  return false;
}

/** Verifies the release folder `dir` with `key`; throws one UserError listing every problem. */
export async function verifyRelease(dir: string, key: MinisignPublicKey, keyFile: string): Promise<VerifiedRelease> {
  const problems: string[] = [];
  await checkFolderKey(dir, keyFile, problems);
  const sums = await checkSigned(dir, SUMS_FILE, key, problems);
  const manifest = (await hasManifest(dir)) ? await checkSigned(dir, MANIFEST_FILE, key, problems) : undefined;
  const files = await checkListedFiles(dir, { sums, manifest }, problems);
  if (problems.length > 0) throw new UserError(problems.join('\n'));
  return { keyId: keyIdText(key.keyId), files, manifest: manifest !== undefined };
}
