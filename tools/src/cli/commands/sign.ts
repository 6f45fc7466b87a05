import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import { MANIFEST_FILE, PUBLIC_KEY_FILE, SIGNATURE_SUFFIX, SUMS_FILE, signRelease, readSigned } from '../../kinds/release-signature/release.ts';
import { checkListedFiles, hasManifest } from '../../kinds/release-signature/verify.ts';
import { writeAtomicallyTogether } from '../../lib/atomic-output.ts';
import { readRegularFile } from '../../lib/input-file.ts';
import { quoted } from '../../messages.ts';
import { parsePrivateKey } from '../../signing/minisign.ts';
import { defineCommand, UsageError } from '../command.ts';
import { releaseDir } from './verify.ts';

/**
 * `icos sign DIR --key KEY`: signs a release folder outside Bazel (a prod key kept offline):
 * SHA256SUMS and, when there is one, the release manifest, after checking every file they list.
 * Writes SHA256SUMS.minisig, release-manifest.json.minisig and release.pub, all or none.
 */
export const signCommand = defineCommand({
  command: 'sign <dir>',
  describe: 'Sign a release folder: minisign signatures of SHA256SUMS and release-manifest.json, and the public key (release.pub)',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'Release folder holding SHA256SUMS and the files it lists' })
      .option('key', { type: 'string', demandOption: true, describe: 'Ed25519 private key, PKCS#8 PEM (release.key of keys/README.md)' }) as never,
  async run(args: { dir: string; key: string }, { log }) {
    if (args.key === '') throw new UsageError('--key "": expected a key file');
    const dir = await releaseDir(args.dir);
    const key = parsePrivateKey(await readRegularFile(args.key, `--key ${quoted(args.key)}`, { maxBytes: 16384 }), `--key ${quoted(args.key)}`);
    const sums = (await readSigned(path.join(dir, SUMS_FILE), path.join(dir, SUMS_FILE))).bytes;
    const manifest = (await hasManifest(dir)) ? (await readSigned(path.join(dir, MANIFEST_FILE), path.join(dir, MANIFEST_FILE))).bytes : undefined;
    // A signature vouches for the files: refuse to sign lists that do not match them.
    const problems: string[] = [];
    const files = await checkListedFiles(dir, { sums, manifest }, problems);
    if (problems.length > 0) throw new UserError(problems.join('\n'), 'nothing was signed');
    const signed = signRelease(sums, manifest, key);
    const outputs = [
      { path: path.join(dir, `${SUMS_FILE}${SIGNATURE_SUFFIX}`), text: signed.sumsSignature },
      ...(signed.manifestSignature === undefined ? [] : [{ path: path.join(dir, `${MANIFEST_FILE}${SIGNATURE_SUFFIX}`), text: signed.manifestSignature }]),
      { path: path.join(dir, PUBLIC_KEY_FILE), text: signed.publicKey },
    ];
    await writeAtomicallyTogether(outputs, async (temps) => {
      for (const [index, output] of outputs.entries()) await writeFile(temps[index]!, output.text);
    });
    log.info(`${dir}: signed ${manifest === undefined ? SUMS_FILE : `${SUMS_FILE} and ${MANIFEST_FILE}`} (${files.length} files checked); public key in ${PUBLIC_KEY_FILE}`);
  },
});
