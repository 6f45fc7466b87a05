import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from '../../definitions.ts';
import { UserError } from '../../errors.ts';
import { describeSize } from '../../lib/size.ts';

/** Fixed htree hash seed (the one IC-OS uses), so directory indexes do not depend on randomness. */
export const HASH_SEED = 'c61251eb-100b-48fe-b089-57dea7368612';
export const BLOCK_SIZE = 4096;

/**
 * Our own mke2fs.conf, so the host's /etc/mke2fs.conf cannot change features or ratios. Values
 * follow e2fsprogs 1.47.0's default ext4 profile, except that no size class changes the block size
 * (images are always 4 KiB-block, which dm-verity needs).
 */
const MKE2FS_CONF = `[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	default_mntopts = acl,user_xattr
	enable_periodic_fsck = 0
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384
	reserved_ratio = 5.0
[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
	floppy = {
		inode_ratio = 8192
	}
	small = {
		inode_ratio = 4096
	}
	default = {
	}
	big = {
		inode_ratio = 32768
	}
	huge = {
		inode_ratio = 65536
	}
`;

export interface Mke2fsRun {
  runner: CommandRunner;
  scratchDir: string;
  stagingDir: string;
  imagePath: string;
  label?: string;
  epoch: number;
  /** `ext4(name)` for messages. */
  artifact: string;
  /** Size of the image and of its data, for the "does not fit" message. */
  sizeBytes: number;
  dataBytes: number;
}

/** Formats `imagePath` (already the right size) and copies the staging tree into it. */
export async function runMke2fs(run: Mke2fsRun): Promise<void> {
  const config = path.join(run.scratchDir, 'mke2fs.conf');
  await writeFile(config, MKE2FS_CONF);
  const args = [
    '-q',
    '-F',
    '-t', 'ext4',
    '-b', String(BLOCK_SIZE),
    '-U', 'clear',
    // Explicit initialisation and no discard: otherwise the flags written depend on what the
    // host filesystem under the image supports.
    '-E', `hash_seed=${HASH_SEED},lazy_itable_init=0,lazy_journal_init=0,nodiscard,root_owner=0:0`,
    ...(run.label === undefined ? [] : ['-L', run.label]),
    '-d', run.stagingDir,
    run.imagePath,
  ];
  // E2FSPROGS_FAKE_TIME=0 means "unset" to libext2fs; epoch 0 is fixed up afterwards anyway.
  const env: Record<string, string> = { MKE2FS_CONFIG: config };
  if (run.epoch > 0) env.E2FSPROGS_FAKE_TIME = String(run.epoch);
  try {
    await run.runner.run('mke2fs', args, { env, artifact: run.artifact });
  } catch (error) {
    if (error instanceof UserError && /Could not allocate|No space left|Not enough space|too small/i.test(error.message)) {
      throw new UserError(
        `${run.artifact}: content of ${describeSize(run.dataBytes)} (data blocks only) does not fit in --size ${describeSize(run.sizeBytes)} once ext4 metadata is added`,
        `raise --size; mke2fs said: ${lastLine(error.message)}`,
      );
    }
    throw error;
  }
}

function lastLine(text: string): string {
  return text.trimEnd().split('\n').at(-1) ?? text;
}
