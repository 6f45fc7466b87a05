import { stat } from 'node:fs/promises';
import type { CommandRunner } from '../definitions.ts';
import { UserError } from '../errors.ts';
import { describeFileType } from '../lib/input-file.ts';
import { MESSAGES, quoted } from '../messages.ts';

/**
 * The size of the disk a node goes onto: a block device (asked with blockdev) or a disk image
 * file (its length). The path is looked at first, so a missing path, a directory or a FIFO is
 * named as such instead of surfacing as blockdev's own failure (or a hang).
 */
export async function targetDiskBytes(target: string, runner: CommandRunner): Promise<number> {
  const where = `--target ${quoted(target)}`;
  const info = await stat(target).catch((error: unknown) => {
    throw new UserError(MESSAGES.cannotRead(where, error));
  });
  if (info.isBlockDevice()) return Number((await runner.run('blockdev', ['--getsize64', target], { artifact: target })).stdout.trim());
  if (info.isFile()) return info.size;
  throw new UserError(`${where}: is ${describeFileType(info)}, expected a disk or a disk image file`);
}
