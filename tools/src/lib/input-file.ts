import { constants, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { UserError } from '../errors.ts';
import { MESSAGES } from '../messages.ts';

/**
 * The one way icos opens an input that must be a regular file (tables, version files, archives
 * to reuse, images, file contexts). Opening a FIFO blocks until a writer appears and reading a
 * device such as /dev/zero never ends, so the path is looked at before it is opened, and the open
 * itself is non-blocking and checked again (the path may change in between).
 *
 * `where` names the input in messages: `--partitions "x.csv"`, `verity: --image "root.img"`.
 */

/** What a non-regular path is, in words for messages ("a FIFO", "a directory", ...). */
export function describeFileType(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  if (info.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** Stats `file` (following symbolic links) and refuses anything but a regular file. */
export async function statRegularFile(file: string, where: string): Promise<Stats> {
  let info: Stats;
  try {
    info = await stat(file);
  } catch (error) {
    throw new UserError(MESSAGES.cannotRead(where, error));
  }
  if (!info.isFile()) throw new UserError(MESSAGES.notRegularFile(where, describeFileType(info)));
  return info;
}

/** Opens `file` for reading once it is known to be a regular file; the caller closes the handle. */
export async function openRegularFile(file: string, where: string): Promise<FileHandle> {
  const before = await statRegularFile(file, where);
  let handle: FileHandle;
  try {
    // O_NONBLOCK: should the path have become a FIFO since the stat, the open returns at once.
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw new UserError(MESSAGES.cannotRead(where, error));
  }
  try {
    const after = await handle.stat();
    if (!after.isFile()) throw new UserError(MESSAGES.notRegularFile(where, describeFileType(after)));
    if (after.ino !== before.ino || after.dev !== before.dev) throw new UserError(`${where}: was replaced while being opened`);
    return handle;
  } catch (error) {
    await handle.close();
    throw error instanceof UserError ? error : new UserError(MESSAGES.cannotRead(where, error));
  }
}

export interface ReadOptions {
  /** Refuse files larger than this (a version file is a line, not a disk image). */
  maxBytes?: number;
}

/** Reads a whole regular file, refusing FIFOs, devices, directories and files over `maxBytes`. */
export async function readRegularFile(file: string, where: string, options: ReadOptions = {}): Promise<Buffer> {
  const handle = await openRegularFile(file, where);
  try {
    const { size } = await handle.stat();
    if (options.maxBytes !== undefined && size > options.maxBytes) {
      throw new UserError(MESSAGES.inputTooLarge(where, size, options.maxBytes));
    }
    try {
      return await handle.readFile();
    } catch (error) {
      throw new UserError(MESSAGES.cannotRead(where, error));
    }
  } finally {
    await handle.close();
  }
}

/** Reads a whole regular file as UTF-8 text (see readRegularFile). */
export async function readRegularText(file: string, where: string, options: ReadOptions = {}): Promise<string> {
  return (await readRegularFile(file, where, options)).toString('utf8');
}
