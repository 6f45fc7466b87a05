import { makeArtifact } from '../../kinds/kind.ts';
import { compressionForPath, sparseTarKind } from '../../kinds/sparse-tar.ts';
import { FrameLibrary } from '../../kinds/sparse-tar/frames.ts';
import { checkReplaceable } from '../../lib/atomic-output.ts';
import { defineCommand, parseAssignments } from '../command.ts';

/** `icos pack`: a deterministic sparse tar (zstd-compressed unless --out ends in .tar). */
export const packCommand = defineCommand({
  command: 'pack',
  describe: 'Pack image files into a deterministic GNU sparse tar, zstd-compressed for .tar.zst/.tzst',
  builder: (yargs) =>
    yargs
      .option('out', {
        type: 'string',
        demandOption: true,
        describe: 'Archive to write: NAME.tar.zst or NAME.tzst (zstd) or NAME.tar (plain)',
      })
      .option('member', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'NAME=PATH: add PATH as the bare member NAME (repeatable, archive order)',
      })
      .option('reuse', {
        type: 'string',
        array: true,
        default: [] as string[],
        describe: 'Archive made by icos whose compressed frames may be copied when they hold the same bytes (repeatable; the output is the same)',
      }),
  async run(args, deps) {
    // What the path is (a FIFO, /dev/null) before what its name asks for.
    await checkReplaceable(args.out);
    const compression = compressionForPath(args.out);
    const members = [...parseAssignments('member', args.member)].map(([name, path]) => ({ name, path }));
    const frames = await FrameLibrary.fromArchives(args.reuse, { indexRequired: true });
    await makeArtifact(sparseTarKind, { members, compression }, args.out, { ...deps, frames });
    deps.log.info(`wrote ${args.out} (${members.length} member${members.length === 1 ? '' : 's'})`);
  },
});
