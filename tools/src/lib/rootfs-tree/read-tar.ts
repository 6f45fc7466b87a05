import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, open, symlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type tarStream from 'tar-stream';
import { UserError } from '../../errors.ts';
import { MESSAGES, quoted } from '../../messages.ts';
import {
  applyOwnership,
  directoryEntry,
  emptyTree,
  longComponentProblem,
  removeEntries,
  stagingPathOf,
  type EntryType,
  type MaterializeOptions,
  type RootfsTree,
  type TreeEntry,
} from '../rootfs-tree.ts';
import { binaryExtract, bytesOf, textOf } from '../tar-binary-pax.ts';

/**
 * Streams a tar (tar-stream) into a staging tree: members in archive order, missing parents
 * created 0755 0:0, a later member replacing an earlier one, devices and fifos through `mknod`.
 */

/** Reads `tarPath` and materialises it (or its `subdir`) under `stagingDir`. */
export async function materializeTar(options: MaterializeOptions): Promise<RootfsTree> {
  await assertPlainTar(options);
  const tree = await emptyTree(options.stagingDir);
  const subdir = options.subdir === undefined || options.subdir === '/' ? '' : options.subdir;
  let subdirSeen = subdir === '';
  const extract = binaryExtract();
  const reading = pipeline(createReadStream(options.tarPath), extract);
  reading.catch(() => undefined); // the same error reaches the loop below through the iterator
  try {
    for await (const entry of extract) {
      decodeNames(entry.header, options);
      const full = tarMemberPath(entry.header.name, options);
      const projected = projectOnto(full, subdir);
      if (projected === undefined) {
        entry.resume();
        continue;
      }
      subdirSeen = true;
      await addTarEntry(tree, projected, entry, { ...options, subdir });
    }
    await reading;
  } catch (error) {
    extract.destroy();
    if (error instanceof UserError || (error as NodeJS.ErrnoException).code !== undefined) throw error;
    throw tarError(options, `not a readable tar archive: ${(error as Error).message}`);
  }
  if (!subdirSeen) throw tarError(options, `--subdir "${options.subdir}" is not in the archive`);
  await applyOwnership(tree);
  return tree;
}

function tarError(options: MaterializeOptions, message: string): UserError {
  return new UserError(`${options.artifact}: --src "${options.tarPath}": ${message}`);
}

async function assertPlainTar(options: MaterializeOptions): Promise<void> {
  const handle = await open(options.tarPath, 'r').catch((error: unknown) => {
    throw new UserError(MESSAGES.cannotRead(`${options.artifact}: --src "${options.tarPath}"`, error));
  });
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    // A tar, even one without members, ends in two zero blocks: 0 bytes is a failed download or
    // a truncated copy, never an empty tree on purpose.
    if (bytesRead === 0) throw tarError(options, 'is empty (0 bytes): not a tar archive');
    if (head[0] === 0x1f && head[1] === 0x8b) throw tarError(options, 'is gzip-compressed: give an uncompressed tar');
    if (head.readUInt32LE(0) === 0xfd2fb528) throw tarError(options, 'is zstd-compressed: give an uncompressed tar');
  } finally {
    await handle.close();
  }
}

/** `./etc/x`, `/etc/x`, `etc/x/` -> `/etc/x`; the root is `/`. */
function tarMemberPath(name: string, options: MaterializeOptions): string {
  const trimmed = name.replace(/^(\.?\/)+/, '');
  if (trimmed.split('/').includes('..')) throw tarError(options, `entry ${quoted(name)} leaves the root with ".."`);
  if (name.includes('\n')) throw tarError(options, `entry ${quoted(name)} has a newline in its name`);
  const tooLong = longComponentProblem(trimmed);
  if (tooLong !== undefined) throw tarError(options, `entry ${quoted(name.length > 64 ? `${name.slice(0, 64)}...` : name)}: ${tooLong}`);
  const normal = path.posix.normalize(`/${trimmed}`);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/** The image path of tar path `full` when only `subdir` is taken, or undefined when outside it. */
function projectOnto(full: string, subdir: string): string | undefined {
  if (subdir === '') return full;
  if (full === subdir) return '/';
  return full.startsWith(`${subdir}/`) ? full.slice(subdir.length) : undefined;
}

/**
 * Names come as binary strings (bytes kept for xattrs); the tree holds them as UTF-8 text, so a
 * name that is not UTF-8 is refused: decoding it would turn `caf\xe9` and `caf\xe8` both into
 * `caf\ufffd` and silently merge two files. (Keeping the bytes would need byte paths through the
 * staging tree, debugfs scripts and file_contexts matching; FAT could not hold them anyway.)
 */
function decodeNames(header: tarStream.Header, options: MaterializeOptions): void {
  const name = strictTextOf(header.name);
  if (name === undefined) throw tarError(options, `member "${escapedName(header.name)}": name is not UTF-8`);
  header.name = name;
  if (header.linkname == null) return;
  const linkname = strictTextOf(header.linkname);
  if (linkname === undefined) throw tarError(options, `member ${quoted(name)}: link target "${escapedName(header.linkname)}" is not UTF-8`);
  if (Buffer.byteLength(linkname) > MAX_LINK_BYTES) {
    throw tarError(options, `member ${quoted(name)}: link target is ${Buffer.byteLength(linkname)} bytes, over the ${MAX_LINK_BYTES} bytes a symbolic link can hold`);
  }
  header.linkname = linkname;
}

/** The longest symlink target ext4 holds at 4 KiB blocks, and the host's PATH_MAX less its NUL. */
const MAX_LINK_BYTES = 4095;

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The UTF-8 text a binary string stands for, or undefined when its bytes are not UTF-8. */
function strictTextOf(binary: string): string | undefined {
  try {
    return STRICT_UTF8.decode(bytesOf(binary));
  } catch {
    return undefined;
  }
}

/** A binary string for messages: ASCII as is, every other byte as `\xNN` (never raw bytes on a terminal). */
function escapedName(binary: string): string {
  return [...bytesOf(binary)].map((byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`)).join('');
}

type TarEntry = tarStream.Extract extends AsyncIterable<infer Entry> ? Entry : never;

async function addTarEntry(
  tree: RootfsTree,
  imagePath: string,
  entry: TarEntry,
  options: MaterializeOptions & { subdir: string },
): Promise<void> {
  const { header } = entry;
  // Names may hold any byte but "/" and NUL: quoted() keeps control characters off the terminal.
  const where = `entry ${quoted(header.name)}`;
  const type = entryTypeOf(header.type);
  if (type === undefined) throw tarError(options, `${where} has unsupported type "${header.type ?? 'unknown'}"`);
  if (!options.allowSpecialFiles && !['file', 'directory', 'hardlink'].includes(type)) {
    throw tarError(options, `${where} is a ${type}: this filesystem holds only files and directories`);
  }
  const record: TreeEntry = {
    path: imagePath,
    type,
    mode: (header.mode ?? 0o644) & 0o7777,
    uid: header.uid ?? 0,
    gid: header.gid ?? 0,
    size: type === 'file' ? header.size ?? 0 : 0,
    xattrs: xattrsOf(header, where, options),
  };
  await prepareSlot(tree, imagePath, type === 'directory', where, options);
  const target = stagingPathOf(tree, imagePath);
  switch (type) {
    case 'file':
      await pipeline(entry, createWriteStream(target, { mode: 0o600 }));
      break;
    case 'directory':
      await mkdir(target, { recursive: true });
      break;
    case 'symlink':
      record.linkTarget = header.linkname ?? '';
      await symlink(header.linkname ?? '', target);
      break;
    case 'hardlink': {
      const linked = projectOnto(tarMemberPath(header.linkname ?? '', options), options.subdir);
      const original = linked === undefined ? undefined : tree.entries.get(linked);
      if (original === undefined || original.type === 'directory') {
        throw tarError(options, `${where} is a hard link to "${header.linkname}", which is not a file earlier in the archive${linked === undefined ? ' under --subdir' : ''}`);
      }
      record.linkTarget = original.type === 'hardlink' ? original.linkTarget : original.path;
      await link(stagingPathOf(tree, record.linkTarget!), target);
      break;
    }
    default: {
      const major = header.devmajor ?? 0;
      const minor = header.devminor ?? 0;
      if (type !== 'fifo') record.device = { major, minor };
      const kindArg = type === 'fifo' ? ['p'] : [type === 'char-device' ? 'c' : 'b', String(major), String(minor)];
      await options.runner.run('mknod', [target, ...kindArg], { artifact: options.artifact });
    }
  }
  entry.resume();
  tree.entries.set(imagePath, record);
}

function entryTypeOf(type: string | undefined): EntryType | undefined {
  switch (type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'directory';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    case 'character-device':
      return 'char-device';
    case 'block-device':
      return 'block-device';
    case 'fifo':
      return 'fifo';
    default:
      return undefined;
  }
}

/** Creates missing parents (0755 0:0) and clears whatever is at `imagePath` unless both are directories. */
async function prepareSlot(
  tree: RootfsTree,
  imagePath: string,
  isDirectory: boolean,
  where: string,
  options: MaterializeOptions,
): Promise<void> {
  if (imagePath === '/') {
    if (isDirectory) return;
    // Under --subdir the root is the subdir's own entry: a file there means a wrong --subdir.
    const subdir = options.subdir ?? '';
    if (subdir === '' || subdir === '/') throw tarError(options, `${where} replaces the root directory with a non-directory`);
    throw tarError(options, `--subdir "${subdir}": ${where} is not a directory`);
  }
  const parents: string[] = [];
  for (let parent = path.posix.dirname(imagePath); parent !== '/'; parent = path.posix.dirname(parent)) parents.unshift(parent);
  for (const parent of parents) {
    const existing = tree.entries.get(parent);
    if (existing === undefined) {
      await mkdir(stagingPathOf(tree, parent));
      tree.entries.set(parent, directoryEntry(parent));
    } else if (existing.type !== 'directory') {
      throw tarError(options, `${where} is inside "${parent}", which is a ${existing.type}`);
    }
  }
  const existing = tree.entries.get(imagePath);
  if (existing !== undefined && !(existing.type === 'directory' && isDirectory)) await removeEntries(tree, [imagePath]);
}

/** Turns pax xattr records (binary strings) into a map, keeping binary values byte for byte. */
function xattrsOf(header: tarStream.Header, where: string, options: MaterializeOptions): Map<string, Buffer> {
  const xattrs = new Map<string, Buffer>();
  const { pax } = header as { pax?: Record<string, string> | null };
  if (pax == null) return xattrs;
  for (const [key, value] of Object.entries(pax)) {
    if (key.startsWith('SCHILY.xattr.')) {
      const xattrName = strictTextOf(key.slice('SCHILY.xattr.'.length));
      if (xattrName === undefined) throw tarError(options, `${where}: extended attribute "${escapedName(key)}": name is not UTF-8`);
      xattrs.set(xattrName, bytesOf(value));
    } else if (key.startsWith('LIBARCHIVE.xattr.')) {
      xattrs.set(decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length)), Buffer.from(value, 'base64'));
    } else if (key.startsWith('SCHILY.acl.')) {
      throw tarError(options, `${where} carries a POSIX ACL ("${textOf(key)}"): ACLs are not supported, remove them from the source`);
    }
  }
  return xattrs;
}
