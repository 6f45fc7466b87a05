import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type tar from 'tar-stream';
import { UserError } from '../errors.ts';
import { binaryExtract, binaryPack } from '../lib/tar-binary-pax.ts';

/** Entry types a flattened root filesystem may hold. */
const KEPT_TYPES = new Set(['file', 'link', 'symlink', 'directory', 'character-device', 'block-device', 'fifo']);

/** PAX records carried over: extended attributes (SELinux labels, file capabilities, ACLs). */
const KEPT_PAX = /^(SCHILY\.xattr\.|LIBARCHIVE\.xattr\.|SCHILY\.acl\.)/;

export interface NormaliseOptions {
  /** The one mtime of every entry (SOURCE_DATE_EPOCH). */
  mtime: number;
  /** Names the input in error messages, e.g. `rootfs(rootfs-tree.tar)`. */
  artifact: string;
  /** Scratch directory for the spooled entry data (entries are sorted before writing). */
  scratchDir: string;
}

export interface NormaliseSummary {
  entries: number;
  dropped: number;
  hardLinks: number;
}

interface Spooled {
  /** Normalised name, without `./`, leading or trailing slashes. */
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  linkname?: string;
  devmajor: number;
  devminor: number;
  pax?: Record<string, string>;
  offset: number;
  size: number;
}

/** `./a/b/` and `/a/b` become `a/b`; the root itself becomes the empty string. */
export function normaliseName(name: string): string {
  let result = name;
  while (result.startsWith('./') || result.startsWith('/')) result = result.startsWith('/') ? result.slice(1) : result.slice(2);
  result = result.replace(/\/+$/, '');
  return result === '.' ? '' : result;
}

/** Whether an entry is left out: the contents of `run/` (kept empty, as upstream) and the engine's marker file. */
export function isDropped(name: string): boolean {
  return name.startsWith('run/') || name === '.dockerenv';
}

/** The one form of an engine-owned path in the output (no data, no extended attributes, owned by root). */
interface CanonicalForm {
  type: 'directory' | 'file' | 'symlink' | 'character-device';
  mode: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const MOUNT_POINT: CanonicalForm = { type: 'directory', mode: 0o755 };
const PLACEHOLDER: CanonicalForm = { type: 'file', mode: 0o644 };

/**
 * Paths a container engine owns: it mounts the container's own over them when it runs one, and its
 * export shows its set-up there, not the image's files. Docker's export always holds its init
 * layer (empty 0755 files, /dev/console an empty file, /etc/mtab -> /proc/mounts, fresh 0755
 * directories) whatever the image has; Podman's holds the image's own files (whatever its build
 * left there: a resolver, a device node for /dev/console, Debian's /etc/mtab link). As no image content survives
 * Docker at these paths, the output always has each of them in one fixed form, the one a booted
 * Debian system has: mount point directories 0755, the kernel's /dev/console node (c 5,1, 0600),
 * systemd's relative /etc/mtab link, and empty 0644 files the OS fills at run time. Content an OS
 * ships at these paths is dropped by either engine: it must come from the running system.
 */
const ENGINE_OWNED: ReadonlyMap<string, CanonicalForm> = new Map([
  ['dev', MOUNT_POINT],
  ['dev/console', { type: 'character-device', mode: 0o600, devmajor: 5, devminor: 1 }],
  ['dev/pts', MOUNT_POINT],
  ['dev/shm', MOUNT_POINT],
  ['etc', MOUNT_POINT],
  ['etc/hostname', PLACEHOLDER],
  ['etc/hosts', PLACEHOLDER],
  ['etc/mtab', { type: 'symlink', mode: 0o777, linkname: '../proc/self/mounts' }],
  ['etc/resolv.conf', PLACEHOLDER],
  ['proc', MOUNT_POINT],
  ['sys', MOUNT_POINT],
]);

/**
 * Whether an image's file at `name` never reaches the export: an engine-owned path that is not a
 * directory, or anything below one. Component manifests are checked against it.
 */
export function engineHides(name: string): boolean {
  const form = ENGINE_OWNED.get(name);
  return (form !== undefined && form.type !== 'directory') || isUnderEngineOwnedFile(name);
}

/** Whether `name` is below an engine-owned path that is not a directory (the engine's file hides it). */
function isUnderEngineOwnedFile(name: string): boolean {
  for (let parent = path.posix.dirname(name); parent !== '.'; parent = path.posix.dirname(parent)) {
    const form = ENGINE_OWNED.get(parent);
    if (form !== undefined && form.type !== 'directory') return true;
  }
  return false;
}

/**
 * Replaces (or adds) every engine-owned path with its canonical form; returns the entries and how
 * many were hidden below an engine's file. A hard link to an engine-owned file keeps the data the
 * export gave that file, as in Docker's export, where the engine's placeholder is another inode:
 * the first such name in order carries the data.
 */
function canonicaliseEngineOwned(entries: Spooled[], artifact: string): { entries: Spooled[]; hidden: number } {
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  const links = new Map<string, Spooled[]>();
  for (const entry of entries) {
    if (entry.type !== 'link' || !ENGINE_OWNED.has(normaliseName(entry.linkname ?? ''))) continue;
    const targetName = normaliseName(entry.linkname ?? '');
    links.set(targetName, [...(links.get(targetName) ?? []), entry]);
  }
  for (const [targetName, group] of links) {
    const target = byName.get(targetName);
    if (target?.type !== 'file') {
      const why = target === undefined ? 'which is not in the output' : `which is a ${target.type}, not a file`;
      throw new UserError(`${artifact}: hard link "${group[0]!.name}" points to "${group[0]!.linkname}", ${why}`);
    }
    group.sort((a, b) => compareTreeOrder(a.name, b.name));
    const first = group[0]!;
    Object.assign(first, { type: 'file', linkname: undefined, mode: target.mode, uid: target.uid, gid: target.gid, pax: target.pax, offset: target.offset, size: target.size });
    for (const member of group.slice(1)) member.linkname = first.name;
  }
  const kept = entries.filter((entry) => !ENGINE_OWNED.has(entry.name) && !isUnderEngineOwnedFile(entry.name));
  const hidden = entries.filter((entry) => isUnderEngineOwnedFile(entry.name)).length;
  for (const [name, form] of ENGINE_OWNED) {
    kept.push({ name, uid: 0, gid: 0, devmajor: 0, devminor: 0, offset: 0, size: 0, ...form });
  }
  return { entries: kept, hidden };
}

/**
 * Tree order, as GNU tar's `--sort=name`: compare path components bytewise, a directory before
 * its contents, a directory's whole subtree before its next sibling.
 */
export function compareTreeOrder(a: string, b: string): number {
  const left = a.split('/');
  const right = b.split('/');
  for (let i = 0; i < Math.min(left.length, right.length); i += 1) {
    if (left[i] !== right[i]) return left[i]! < right[i]! ? -1 : 1;
  }
  return left.length - right.length;
}

function keptPax(pax: Record<string, string> | undefined | null): Record<string, string> | undefined {
  if (pax === undefined || pax === null) return undefined;
  const kept = Object.keys(pax)
    .filter((key) => KEPT_PAX.test(key))
    .sort();
  if (kept.length === 0) return undefined;
  return Object.fromEntries(kept.map((key) => [key, pax[key]!]));
}

/** Reads every entry, checking it, and spools file data to `spoolPath`. */
async function spoolEntries(input: NodeJS.ReadableStream, spoolPath: string, artifact: string): Promise<{ entries: Spooled[]; dropped: number }> {
  const spool = await open(spoolPath, 'w');
  const entries: Spooled[] = [];
  const seen = new Set<string>();
  let dropped = 0;
  let position = 0;
  let reading: Promise<void> | undefined;
  try {
    const extract = binaryExtract();
    reading = pipeline(input, extract).catch((error: unknown) => {
      throw new UserError(`${artifact}: the container export is not a readable tar: ${(error as Error).message}`);
    });
    for await (const entry of extract) {
      const { header } = entry;
      const name = normaliseName(header.name);
      const base = path.posix.basename(name);
      if (base.startsWith('.wh.')) {
        throw new UserError(
          `${artifact}: entry "${header.name}" is an overlay whiteout: expected a flattened filesystem export, not an image layer`,
        );
      }
      if (!KEPT_TYPES.has(header.type ?? 'file')) {
        throw new UserError(`${artifact}: entry "${header.name}" has type "${header.type}": a root filesystem tar holds only files, links, directories and device nodes`);
      }
      const offset = position;
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        await spool.write(chunk, 0, chunk.length, position);
        position += chunk.length;
      }
      if (name === '' || isDropped(name)) {
        dropped += 1;
        continue;
      }
      if (seen.has(name)) throw new UserError(`${artifact}: entry "${name}" appears twice: expected a flattened filesystem export`);
      seen.add(name);
      entries.push({
        name,
        type: header.type ?? 'file',
        mode: (header.mode ?? 0) & 0o7777,
        uid: header.uid ?? 0,
        gid: header.gid ?? 0,
        linkname: header.linkname ?? undefined,
        devmajor: header.devmajor ?? 0,
        devminor: header.devminor ?? 0,
        pax: keptPax(header.pax as Record<string, string> | null | undefined),
        offset,
        size: position - offset,
      });
    }
    await reading;
  } catch (error) {
    // The reader may fail too once the extract is torn down: the first error is the one to report.
    reading?.catch(() => {});
    throw error;
  } finally {
    await spool.close();
  }
  return { entries, dropped };
}

/**
 * Checks hard links and moves each group's data to the member that now comes first, so a link
 * never precedes its target after sorting. Returns the number of hard links.
 */
function settleHardLinks(entries: Spooled[], artifact: string): number {
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  const groups = new Map<string, Spooled[]>();
  for (const entry of entries) {
    if (entry.type !== 'link') continue;
    const targetName = normaliseName(entry.linkname ?? '');
    const target = byName.get(targetName);
    if (target === undefined || target.type !== 'file') {
      const why = isDropped(targetName) ? 'which is dropped from the output' : target === undefined ? 'which is not in the output' : `which is a ${target.type}, not a file`;
      throw new UserError(`${artifact}: hard link "${entry.name}" points to "${entry.linkname}", ${why}`);
    }
    const group = groups.get(targetName) ?? [target];
    group.push(entry);
    groups.set(targetName, group);
  }
  let count = 0;
  for (const group of groups.values()) {
    const data = group[0]!;
    group.sort((a, b) => compareTreeOrder(a.name, b.name));
    const first = group[0]!;
    for (const member of group) {
      Object.assign(member, { mode: data.mode, uid: data.uid, gid: data.gid, pax: data.pax });
      if (member === first) {
        Object.assign(member, { type: 'file', linkname: undefined, offset: data.offset, size: data.size });
      } else {
        Object.assign(member, { type: 'link', linkname: first.name, size: 0 });
        count += 1;
      }
    }
  }
  return count;
}

function isBinary(text: string | undefined): boolean {
  return text !== undefined && /[^\x20-\x7e]/.test(text);
}

type OutputHeader = Partial<tar.Header> & { name: string; size: number };

function outputHeader(entry: Spooled, mtime: number): OutputHeader {
  const pax = entry.pax ?? (isBinary(entry.name) || isBinary(entry.linkname) ? {} : undefined);
  return {
    name: entry.type === 'directory' ? `${entry.name}/` : entry.name,
    type: entry.type as tar.Header['type'],
    mode: entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    uname: '',
    gname: '',
    mtime: new Date(mtime * 1000),
    size: entry.type === 'file' ? entry.size : 0,
    linkname: entry.linkname,
    devmajor: entry.devmajor,
    devminor: entry.devminor,
    ...(pax === undefined ? {} : { pax }),
  };
}

async function writeEntry(pack: tar.Pack, header: OutputHeader, spoolPath: string, entry: Spooled): Promise<void> {
  if (header.size === 0) {
    // An explicit empty body: without one tar-stream waits for an empty file's data forever.
    await new Promise<void>((resolve, reject) =>
      pack.entry(header, Buffer.alloc(0), (error) => (error ? reject(error) : resolve())),
    );
    return;
  }
  const sink = pack.entry(header);
  await pipeline(createReadStream(spoolPath, { start: entry.offset, end: entry.offset + entry.size - 1 }), sink);
}

/**
 * Rewrites a container export as a reproducible root filesystem tar: entries in tree order,
 * one mtime, numeric owners with empty user and group names, `run/*` dropped (the directory
 * kept), the paths engines own in one form whichever engine exported (ENGINE_OWNED), hard links
 * checked, extended attributes kept. Whiteouts and duplicates are refused:
 * they mean the input is an image layer, not a flattened export.
 */
export async function normaliseRootfsTar(
  input: NodeJS.ReadableStream,
  outPath: string,
  options: NormaliseOptions,
): Promise<NormaliseSummary> {
  const spoolPath = path.join(options.scratchDir, 'entries.spool');
  const spooled = await spoolEntries(input, spoolPath, options.artifact);
  const { entries, hidden } = canonicaliseEngineOwned(spooled.entries, options.artifact);
  const dropped = spooled.dropped + hidden;
  const hardLinks = settleHardLinks(entries, options.artifact);
  entries.sort((a, b) => compareTreeOrder(a.name, b.name));
  const pack = binaryPack();
  const writing = pipeline(pack, createWriteStream(outPath));
  for (const entry of entries) await writeEntry(pack, outputHeader(entry, options.mtime), spoolPath, entry);
  pack.finalize();
  await writing;
  return { entries: entries.length, dropped, hardLinks };
}
