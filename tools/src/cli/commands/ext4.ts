import { ext4Kind } from '../../kinds/ext4.ts';
import { ext4InjectKind } from '../../kinds/ext4-inject.ts';
import { makeArtifact } from '../../kinds/kind.ts';
import { defineCommand } from '../command.ts';

/** `icos ext4`: an ext4 image of a given size from a rootfs tar (or an empty one). */
export const ext4Command = defineCommand({
  command: 'ext4',
  describe: 'Write an ext4 filesystem image from a root filesystem tar (no --src: empty)',
  builder: (y) =>
    y
      .option('out', { type: 'string', demandOption: true, describe: 'Image to write (sparse, atomically)' })
      .option('size', { type: 'string', demandOption: true, describe: 'Image size (bytes or K/M/G/T), e.g. 3G' })
      .option('src', { type: 'string', describe: 'Root filesystem tar (uncompressed)' })
      .option('subdir', { type: 'string', describe: 'Take only this directory of the tar as the image root, e.g. /boot' })
      .option('strip', { type: 'string', array: true, describe: 'PATH: remove a file, or the contents of a directory (repeatable)' })
      .option('extra', { type: 'string', array: true, describe: 'SRC:DST:MODE: add host file SRC at DST, octal MODE, owner 0:0 (repeatable)' })
      .option('file-contexts', { type: 'string', describe: 'SELinux file_contexts: label every inode (security.selinux)' })
      .option('label', { type: 'string', describe: 'Filesystem label (up to 16 bytes)' }),
  async run(args, deps) {
    await makeArtifact(
      ext4Kind,
      {
        artifact: args.out,
        size: args.size,
        src: args.src,
        subdir: args.subdir,
        strip: args.strip,
        extra: args.extra,
        fileContexts: args['file-contexts'],
        label: args.label,
      },
      args.out,
      deps,
    );
  },
});

/** `icos ext4-inject`: a copy of an ext4 image with late-injected files written into it. */
export const ext4InjectCommand = defineCommand({
  command: 'ext4-inject',
  describe: 'Copy an ext4 image and write files into it (mode, owner 0:0, SOURCE_DATE_EPOCH times, labels)',
  builder: (y) =>
    y
      .option('out', { type: 'string', demandOption: true, describe: 'Image to write (sparse, atomically)' })
      .option('base', { type: 'string', demandOption: true, describe: 'ext4 image to start from (not modified)' })
      .option('extra', { type: 'string', array: true, describe: 'SRC:DST:MODE: write host file SRC at DST, octal MODE, owner 0:0; missing parents are made 0755 (repeatable)' })
      .option('file-contexts', { type: 'string', describe: 'SELinux file_contexts: label the injected inodes' }),
  async run(args, deps) {
    await makeArtifact(
      ext4InjectKind,
      { artifact: args.out, base: args.base, extra: args.extra, fileContexts: args['file-contexts'] },
      args.out,
      deps,
    );
  },
});
