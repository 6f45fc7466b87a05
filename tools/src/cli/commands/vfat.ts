import { makeArtifact } from '../../kinds/kind.ts';
import { vfatKind } from '../../kinds/vfat.ts';
import { defineCommand } from '../command.ts';

/** `icos vfat`: a FAT image of a given size from a rootfs tar (or an empty one). */
export const vfatCommand = defineCommand({
  command: 'vfat',
  describe: 'Write a FAT filesystem image from a root filesystem tar (no --src: empty)',
  builder: (y) =>
    y
      .option('out', { type: 'string', demandOption: true, describe: 'Image to write (sparse, atomically)' })
      .option('size', { type: 'string', demandOption: true, describe: 'Image size (bytes or K/M/G/T), e.g. 100M' })
      .option('src', { type: 'string', describe: 'Root filesystem tar (uncompressed; files and directories only)' })
      .option('subdir', { type: 'string', describe: 'Take only this directory of the tar as the image root, e.g. /boot/efi' })
      .option('extra', { type: 'string', array: true, describe: 'SRC:DST:MODE: add host file SRC at DST (MODE checked, unused on FAT) (repeatable)' })
      .option('fat32', { type: 'boolean', default: false, describe: 'Make FAT32 (default: FAT12/16 chosen by size)' })
      .option('label', { type: 'string', describe: 'Volume label (1-11 of A-Z 0-9 _ -), e.g. CONFIG' }),
  async run(args, deps) {
    await makeArtifact(
      vfatKind,
      { artifact: args.out, size: args.size, src: args.src, subdir: args.subdir, extra: args.extra, fat32: args.fat32, label: args.label },
      args.out,
      deps,
    );
  },
});
