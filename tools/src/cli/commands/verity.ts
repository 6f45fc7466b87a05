import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError, defineCommand } from '../command.ts';
import { writeAtomicallyTogether } from '../../lib/atomic-output.ts';
import { parseOptions } from '../../kinds/kind.ts';
import { checkOutputIsNotImage, verityKind, writeVerityImage } from '../../kinds/verity.ts';

/** `icos verity`: appends a dm-verity hash tree to an image, as `veritysetup format` would. */
export const verityCommand = defineCommand({
  command: 'verity',
  describe: 'Copy an image and add its dm-verity superblock and hash tree at --hash-offset (veritysetup format, sha256)',
  builder: (y) =>
    y
      .option('image', { type: 'string', demandOption: true, describe: 'Data image (size a multiple of 4096); not modified' })
      .option('out', { type: 'string', demandOption: true, describe: 'Output: the image, then superblock and hash tree at --hash-offset' })
      .option('hash-offset', { type: 'string', demandOption: true, describe: 'Byte offset of the hash area in --out (a multiple of 4096)' })
      // requiresArg: a lone "-" (no salt, as veritysetup spells it) is taken as the value, not stdin.
      .option('salt', { type: 'string', demandOption: true, requiresArg: true, describe: 'Salt in hex, up to 256 bytes, or "-" for none' })
      .option('uuid', { type: 'string', demandOption: true, describe: 'UUID recorded in the verity superblock' })
      .option('root-hash-out', { type: 'string', demandOption: true, describe: 'File that receives the root hash in hex and a newline' }),
  async run(args, { log }) {
    for (const flag of ['out', 'root-hash-out'] as const) {
      if (args[flag] === '') throw new UsageError(`--${flag} "": expected a file path`);
    }
    const out = path.resolve(args.out);
    const rootHashOut = path.resolve(args['root-hash-out']);
    if (rootHashOut === out || rootHashOut === path.resolve(args.image)) {
      throw new UsageError(`--root-hash-out "${args['root-hash-out']}": must differ from --out and --image`);
    }
    const options = parseOptions(verityKind, {
      image: args.image,
      hashOffset: args['hash-offset'],
      salt: args.salt,
      uuid: args.uuid,
    });
    const plan = await verityKind.plan(options);
    await checkOutputIsNotImage(args.out, args.image);
    await checkOutputIsNotImage(args['root-hash-out'], args.image, '--root-hash-out');
    // Both outputs or neither: the root hash is written only once the image is, and the two are
    // renamed into place together (a failed rename removes the one already renamed).
    const outputs = [
      { path: out, where: `--out "${args.out}"` },
      { path: rootHashOut, where: `--root-hash-out "${args['root-hash-out']}"` },
    ];
    const rootHash = await writeAtomicallyTogether(outputs, async ([outTemp, hashTemp]) => {
      const hex = await writeVerityImage(plan, outTemp!);
      await writeFile(hashTemp!, `${hex}\n`);
      return hex;
    });
    log.info(`${args.out}: root hash ${rootHash}`);
  },
});
