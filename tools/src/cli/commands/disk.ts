import { defineCommand, parseAssignments } from '../command.ts';
import { gptDiskKind } from '../../kinds/gpt-disk.ts';
import { makeArtifact } from '../../kinds/kind.ts';
import { parseSize } from '../../lib/size.ts';

/** `icos disk`: a GPT disk image from partitions.csv and partition images. */
export const diskCommand = defineCommand({
  command: 'disk',
  describe: 'Write a GPT disk image from partitions.csv, filling partitions with images by name',
  builder: (y) =>
    y
      .option('partitions', { type: 'string', demandOption: true, describe: 'partitions.csv (IC-OS format)' })
      .option('out', { type: 'string', demandOption: true, describe: 'Disk image to write (sparse)' })
      .option('part', { type: 'string', array: true, describe: 'NAME=IMAGE: fill partition NAME with IMAGE (repeatable)' })
      .option('expand', { type: 'string', describe: 'Disk size (bytes or K/M/G/T), e.g. 50G for GuestOS' })
      .option('populate-b', { type: 'boolean', default: false, describe: 'Fill empty B_x slots with the A_x images (test disks)' }),
  async run(args, deps) {
    await makeArtifact(
      gptDiskKind,
      {
        partitions: args.partitions,
        images: Object.fromEntries(parseAssignments('part', args.part)),
        expandedSize: args.expand === undefined ? undefined : parseSize(args.expand, '--expand'),
        populateB: args['populate-b'],
      },
      args.out,
      deps,
    );
  },
});
