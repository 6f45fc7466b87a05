import { open } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from '../../definitions.ts';
import { UserError } from '../../errors.ts';
import { debugfsQuote } from '../ext4/fixups.ts';
import { mtoolsEnv } from '../vfat/mtools.ts';

/**
 * Reading a file out of, and writing signatures into, the two filesystems GRUB reads its signed
 * files from: ext4 (debugfs) and FAT (mtools). Neither is mounted.
 */
export type FilesystemType = 'ext4' | 'fat';

const EXT4_MAGIC_OFFSET = 1080;
const FAT_SIGNATURE_OFFSET = 510;
/** GRUB resolves symlinks itself (a kernel's /vmlinuz usually is one); a loop ends here. */
const MAX_LINKS = 8;

/** ext4 by its superblock magic, FAT by its boot sector signature and jump; otherwise an error. */
export async function detectFilesystem(image: string, where: string): Promise<FilesystemType> {
  const file = await open(image, 'r');
  try {
    const head = Buffer.alloc(2048);
    await file.read(head, 0, head.length, 0);
    if (head.readUInt16LE(EXT4_MAGIC_OFFSET) === 0xef53) return 'ext4';
    if (head.readUInt16LE(FAT_SIGNATURE_OFFSET) === 0xaa55 && (head[0] === 0xeb || head[0] === 0xe9)) return 'fat';
  } finally {
    await file.close();
  }
  throw new UserError(`${where}: neither ext4 nor FAT: GRUB's signed files live on one of those`);
}

/** Copies `imagePath` (following symlinks on ext4) to `out`; a missing file is named. */
export async function extractFile(
  runner: CommandRunner,
  fs: FilesystemType,
  image: string,
  imagePath: string,
  out: string,
  artifact: string,
): Promise<void> {
  if (fs === 'fat') {
    const result = await runner.run('mcopy', ['-n', '-i', image, `::${imagePath}`, out], { env: mtoolsEnv(0), artifact, okExitCodes: [1] });
    if (result.exitCode !== 0) throw new UserError(`${artifact}: "${imagePath}" is not a file of the image: it cannot be signed`);
    return;
  }
  let current = imagePath;
  for (let hop = 0; hop <= MAX_LINKS; hop++) {
    const { stdout, stderr } = await runner.run('debugfs', ['-R', `stat ${debugfsQuote(current)}`, image], { artifact });
    const type = /Type: (\S+)/.exec(stdout)?.[1];
    if (type === undefined) throw new UserError(`${artifact}: "${current}" is not in the image (${stderr.trim().split('\n').pop()}): it cannot be signed`);
    if (type === 'regular') {
      await runner.run('debugfs', ['-R', `dump ${debugfsQuote(current)} ${debugfsQuote(out)}`, image], { artifact });
      return;
    }
    if (type !== 'symlink') throw new UserError(`${artifact}: "${current}" is a ${type}, not a file: it cannot be signed`);
    const fast = /Fast link dest: "(.*)"/.exec(stdout)?.[1];
    const target = fast ?? (await runner.run('debugfs', ['-R', `cat ${debugfsQuote(current)}`, image], { artifact })).stdout;
    current = path.posix.resolve(path.posix.dirname(current), target);
  }
  throw new UserError(`${artifact}: "${imagePath}": more than ${MAX_LINKS} symlinks deep`);
}

/** Writes each host file to its path in the FAT image (mtools; times from the epoch). */
export async function addFatFiles(runner: CommandRunner, image: string, files: ReadonlyArray<{ source: string; destination: string }>, epoch: number, artifact: string): Promise<void> {
  for (const { source, destination } of files) {
    await runner.run('mcopy', ['-o', '-i', image, source, `::${destination}`], { env: mtoolsEnv(epoch), artifact, input: '' });
  }
}
