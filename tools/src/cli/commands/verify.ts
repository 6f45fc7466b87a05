import { stat } from 'node:fs/promises';
import { UserError } from '../../errors.ts';
import { readPublicKey, verifyRelease } from '../../kinds/release-signature/verify.ts';
import { describeFileType } from '../../lib/input-file.ts';
import { MESSAGES, quoted } from '../../messages.ts';
import { defineCommand, UsageError } from '../command.ts';

/** The release folder argument, checked to be a directory. */
export async function releaseDir(dir: string): Promise<string> {
  if (dir === '') throw new UsageError('DIR "": expected a release folder');
  const info = await stat(dir).catch((error: unknown) => {
    throw new UserError(MESSAGES.cannotRead(`release folder ${quoted(dir)}`, error));
  });
  if (!info.isDirectory()) throw new UserError(`release folder ${quoted(dir)}: is ${info.isFile() ? 'a regular file' : describeFileType(info)}, expected a directory`);
  return dir;
}

/**
 * `icos verify DIR --key PUB`: the minisign signatures of SHA256SUMS and the release manifest,
 * then every file they list (sha256, size). Each problem names its file; exit status 1 if any.
 */
export const verifyCommand = defineCommand({
  command: 'verify <dir>',
  describe: 'Verify a signed release folder with a minisign public key: signatures, then every listed file',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'Release folder (SHA256SUMS, release-manifest.json, their .minisig)' })
      .option('key', { type: 'string', demandOption: true, describe: 'minisign public key file (release.pub of a trusted source)' }) as never,
  async run(args: { dir: string; key: string }) {
    if (args.key === '') throw new UsageError('--key "": expected a public key file');
    const dir = await releaseDir(args.dir);
    const result = await verifyRelease(dir, await readPublicKey(args.key), args.key);
    const lists = result.manifest ? 'SHA256SUMS and release-manifest.json' : 'SHA256SUMS (no release manifest)';
    process.stdout.write(`${dir}: ${lists} signed by key ${result.keyId}; ${result.files.length} files match: ${result.files.join(', ')}\n`);
  },
});
