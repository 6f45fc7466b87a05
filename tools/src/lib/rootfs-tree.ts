import { chmod, copyFile, lchown, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from '../definitions.ts';
import { UserError } from '../errors.ts';

/**
 * A root filesystem read from a tar and materialised as a staging directory on the host, plus the
 * metadata the host directory cannot be trusted to carry (xattrs, the intended owners and modes).
 * Filesystem kinds (ext4, vfat) build their images from this tree; `rootfs-tree/read-tar.ts`
 * fills it from a tar.
 */

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char-device' | 'block-device' | 'fifo';

export interface TreeEntry {
  /** Absolute path inside the image: `/` for the root. */
  path: string;
  type: EntryType;
  /** Permission bits including setuid, setgid and sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Content bytes of a regular file, 0 otherwise. */
  size: number;
  /** Symlink target as written in the tar, or the image path a hard link points to. */
  linkTarget?: string;
  device?: { major: number; minor: number };
  /** Extended attributes from the tar (pax SCHILY.xattr / LIBARCHIVE.xattr records). */
  xattrs: Map<string, Buffer>;
}

export interface RootfsTree {
  /** Host directory holding the tree; image path `/x` is `<stagingDir>/x`. */
  stagingDir: string;
  entries: Map<string, TreeEntry>;
}

/** A host file added to the tree (`--extra SRC:DST:MODE`). */
export interface ExtraFile {
  source: string;
  destination: string;
  mode: number;
}

export interface MaterializeOptions {
  tarPath: string;
  /** Only this subtree becomes the image root (`/boot`); `/` or undefined for the whole tar. */
  subdir?: string;
  stagingDir: string;
  runner: CommandRunner;
  /** `kind(name)`, the prefix of every message. */
  artifact: string;
  /** False for filesystems that hold only files and directories (FAT). */
  allowSpecialFiles: boolean;
}

/**
 * The longest file name (one path component) in bytes: ext4's limit, and the host's for the
 * staging directory every image is built from (FAT's 255 UTF-16 units never hold fewer bytes).
 */
export const MAX_NAME_BYTES = 255;

/** Why a path has a component too long for any image, or undefined when none is. */
export function longComponentProblem(imagePath: string): string | undefined {
  const long = imagePath.split('/').find((component) => Buffer.byteLength(component) > MAX_NAME_BYTES);
  if (long === undefined) return undefined;
  const shown = long.length > 24 ? `${long.slice(0, 24)}...` : long;
  return `component "${shown}" is ${Buffer.byteLength(long)} bytes, over the ${MAX_NAME_BYTES} bytes a file name can have`;
}

/** Normalises a path given on the command line: absolute, no `..`, no trailing slash. */
export function normalizeImagePath(text: string, what: string): string {
  if (!text.startsWith('/')) throw new UserError(`${what} "${text}": must be an absolute path`);
  if (text.split('/').includes('..')) throw new UserError(`${what} "${text}": must not contain ".."`);
  if (text.includes('\n')) throw new UserError(`${what} ${JSON.stringify(text)}: must not contain a newline`);
  const tooLong = longComponentProblem(text);
  if (tooLong !== undefined) throw new UserError(`${what} "${text.length > 64 ? `${text.slice(0, 64)}...` : text}": ${tooLong}`);
  const normal = path.posix.normalize(text);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

/** Parses `SRC:DST:MODE` (SRC may itself contain colons). */
export function parseExtraSpec(spec: string): ExtraFile {
  const parts = spec.split(':');
  if (parts.length < 3 || parts.slice(0, -2).join(':') === '') {
    throw new UserError(`--extra "${spec}": expected SRC:DST:MODE, for example bin/replica:/opt/ic/bin/replica:0755`);
  }
  const modeText = parts.at(-1)!;
  const destination = parts.at(-2)!;
  if (!/^[0-7]{1,4}$/.test(modeText)) {
    throw new UserError(`--extra "${spec}": MODE "${modeText}" is not an octal mode of 1 to 4 digits`);
  }
  if (!destination.startsWith('/') || destination.endsWith('/')) {
    throw new UserError(`--extra "${spec}": DST "${destination}" must be an absolute file path`);
  }
  // Node turns command-line bytes that are not UTF-8 into U+FFFD: the name would not be the one given.
  if (destination.includes('\uFFFD')) {
    throw new UserError(`--extra "${spec}": DST "${destination}" holds U+FFFD, the mark of bytes that are not UTF-8: image paths must be UTF-8`);
  }
  return {
    source: parts.slice(0, -2).join(':'),
    destination: normalizeImagePath(destination, `--extra "${spec}": DST`),
    mode: parseInt(modeText, 8),
  };
}

/** The host path of an image path. */
export function stagingPathOf(tree: RootfsTree, imagePath: string): string {
  return imagePath === '/' ? tree.stagingDir : path.join(tree.stagingDir, imagePath.slice(1));
}

/** Entries in byte order of their paths (the order every image is built in). */
export function sortedEntries(tree: RootfsTree): TreeEntry[] {
  return [...tree.entries.values()].sort((a, b) => compareBytes(a.path, b.path));
}

/** Orders strings by their UTF-8 bytes, independent of locale. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A tree holding only a root directory (0755, 0:0). */
export async function emptyTree(stagingDir: string): Promise<RootfsTree> {
  await mkdir(stagingDir, { recursive: true });
  const tree: RootfsTree = { stagingDir, entries: new Map() };
  tree.entries.set('/', directoryEntry('/'));
  await applyOwnership(tree);
  return tree;
}

/** A directory entry 0755 0:0 (roots and parents the tar does not list). */
export function directoryEntry(imagePath: string): TreeEntry {
  return { path: imagePath, type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 0, xattrs: new Map() };
}

/**
 * Adds the missing ancestors of `imagePath` as 0755 0:0 directories (FAT images, which have no
 * owners or modes to get wrong: an ESP's /EFI/Boot exists only to hold its loader).
 */
export async function addParentDirectories(tree: RootfsTree, imagePath: string): Promise<void> {
  const parents: string[] = [];
  for (let dir = path.posix.dirname(imagePath); !tree.entries.has(dir); dir = path.posix.dirname(dir)) parents.unshift(dir);
  for (const dir of parents) {
    await mkdir(stagingPathOf(tree, dir));
    const entry = directoryEntry(dir);
    tree.entries.set(dir, entry);
    await applyEntryOwnership(tree, entry);
  }
}

/** Bytes of data blocks the tree needs at `blockSize` (a lower bound on the image size). */
export function estimateDataBytes(tree: RootfsTree, blockSize: number): number {
  let blocks = 0;
  for (const entry of tree.entries.values()) {
    if (entry.type === 'file') blocks += Math.ceil(entry.size / blockSize);
    else if (entry.type === 'directory') blocks += 1;
    else if (entry.type === 'symlink' && Buffer.byteLength(entry.linkTarget ?? '') >= 60) blocks += 1;
  }
  return blocks * blockSize;
}

/**
 * Removes entries (a directory with everything below it) from the tree and the staging directory.
 * A hard link whose original goes away becomes the file (it still holds the content on disk).
 */
export async function removeEntries(tree: RootfsTree, imagePaths: readonly string[]): Promise<void> {
  const removed = new Set<string>();
  for (const imagePath of imagePaths) {
    for (const key of tree.entries.keys()) {
      if (key === imagePath || key.startsWith(imagePath === '/' ? '/' : `${imagePath}/`)) removed.add(key);
    }
    removed.delete('/');
    await rm(stagingPathOf(tree, imagePath), { recursive: true, force: true });
  }
  const orphans = sortedEntries(tree).filter((e) => e.type === 'hardlink' && removed.has(e.linkTarget!) && !removed.has(e.path));
  const promoted = new Map<string, string>();
  for (const orphan of orphans) {
    const original = tree.entries.get(orphan.linkTarget!)!;
    const heir = promoted.get(original.path);
    if (heir === undefined) {
      promoted.set(original.path, orphan.path);
      tree.entries.set(orphan.path, { ...original, path: orphan.path });
    } else {
      orphan.linkTarget = heir;
    }
  }
  for (const key of removed) tree.entries.delete(key);
}

/** `--strip PATH`: a directory loses its contents (it stays), anything else goes. False when absent. */
export async function stripPath(tree: RootfsTree, imagePath: string): Promise<boolean> {
  const entry = tree.entries.get(imagePath);
  if (entry === undefined) return false;
  if (entry.type !== 'directory') {
    await removeEntries(tree, [imagePath]);
    return true;
  }
  const children = [...tree.entries.keys()].filter((key) => key !== '/' && path.posix.dirname(key) === imagePath);
  await removeEntries(tree, children);
  return true;
}

/** Adds (or replaces) a host file at `extra.destination`, owner 0:0. Its parent must exist. */
export async function addExtraFile(tree: RootfsTree, extra: ExtraFile, artifact: string): Promise<void> {
  const where = `${artifact}: --extra "${extra.source}:${extra.destination}"`;
  const parent = path.posix.dirname(extra.destination);
  const parentEntry = tree.entries.get(parent);
  if (parentEntry?.type !== 'directory') {
    throw new UserError(
      `${where}: parent directory "${parent}" is ${parentEntry === undefined ? 'not in the tree' : `a ${parentEntry.type}`}`,
      'extra files go into existing directories; check the path or add the directory to the source tar',
    );
  }
  if (tree.entries.get(extra.destination)?.type === 'directory') {
    throw new UserError(`${where}: "${extra.destination}" is a directory in the tree`);
  }
  if (tree.entries.has(extra.destination)) await removeEntries(tree, [extra.destination]);
  const target = stagingPathOf(tree, extra.destination);
  await copyFile(extra.source, target);
  const { size } = await stat(target);
  const entry: TreeEntry = { path: extra.destination, type: 'file', mode: extra.mode, uid: 0, gid: 0, size, xattrs: new Map() };
  tree.entries.set(entry.path, entry);
  await applyEntryOwnership(tree, entry);
}

/** Gives the staging tree the owners and modes of the entries (explicit chmod: umask-independent). */
export async function applyOwnership(tree: RootfsTree): Promise<void> {
  for (const entry of sortedEntries(tree)) await applyEntryOwnership(tree, entry);
}

async function applyEntryOwnership(tree: RootfsTree, entry: TreeEntry): Promise<void> {
  if (entry.type === 'hardlink') return; // the original entry owns the shared inode
  const target = stagingPathOf(tree, entry.path);
  await lchown(target, entry.uid, entry.gid);
  // chown clears setuid/setgid, so the mode comes after it; symlinks have no mode of their own.
  if (entry.type !== 'symlink') await chmod(target, entry.mode);
}
