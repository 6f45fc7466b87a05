import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { DiffContext } from './context.ts';
import type { Region } from './region.ts';

/**
 * ext2/3/4 filesystems, read with e2fsprogs without mounting: `debugfs` walks the tree (`ls -p`,
 * by inode number so no name needs quoting), `stat`s every inode and `dump`s regular files and
 * long symlinks for their sha256; `dumpe2fs -h` gives the superblock. Files come first in the
 * report (they are what changed; the superblock's counters and checksum follow from them).
 */

/** Inodes per debugfs call: bounds the scratch space taken by dumped files at any one time. */
const DUMP_BATCH = 256;

interface Entry {
  path: string;
  inode: number;
  mode: number;
  uid: number;
  gid: number;
}

interface Inode {
  type: string;
  fields: Map<string, string>;
}

/** `debugfs` reads an image at an offset through the unix I/O manager's `?offset=` suffix. */
function device(region: Region): string {
  return region.offset === 0 ? region.file : `${region.file}?offset=${region.offset}`;
}

/** Runs debugfs requests from stdin and splits its echo (`debugfs: REQUEST`) into one output per request. */
async function debugfs(context: DiffContext, region: Region, requests: readonly string[]): Promise<string[]> {
  if (requests.length === 0) return [];
  const { stdout } = await context.runner.run('debugfs', ['-f', '-', device(region)], { input: `${requests.join('\n')}\n`, artifact: `diff(${region.file})` });
  const outputs: string[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('debugfs: ')) outputs.push('');
    else if (outputs.length > 0) outputs[outputs.length - 1] += `${line}\n`;
  }
  return outputs;
}

/** Every path of the filesystem, breadth first, one debugfs call per directory level. */
async function listTree(context: DiffContext, region: Region): Promise<Entry[]> {
  const entries: Entry[] = [{ path: '/', inode: 2, mode: 0o40755, uid: 0, gid: 0 }];
  let level: Entry[] = [entries[0]!];
  while (level.length > 0) {
    const outputs = await debugfs(context, region, level.map((dir) => `ls -p <${dir.inode}>`));
    const next: Entry[] = [];
    level.forEach((dir, index) => {
      for (const line of (outputs[index] ?? '').split('\n')) {
        const fields = line.split('/');
        if (fields.length < 7 || fields[5] === '.' || fields[5] === '..') continue;
        const entry = {
          path: path.posix.join(dir.path, fields[5]!),
          inode: Number(fields[1]),
          mode: Number.parseInt(fields[2]!, 8),
          uid: Number(fields[3]),
          gid: Number(fields[4]),
        };
        entries.push(entry);
        if ((entry.mode & 0o170000) === 0o040000) next.push(entry);
      }
    });
    level = next;
  }
  return entries.sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

const TIME = /^\s*(\w+): 0x([0-9a-f]+):([0-9a-f]+)/;

/** The fields of a `debugfs stat` that describe the file (not where its blocks happen to be). */
function parseStat(output: string): Inode {
  const fields = new Map<string, string>();
  let type = '';
  let inXattrs = false;
  const xattrs: string[] = [];
  for (const line of output.split('\n')) {
    if (inXattrs && line.startsWith('  ')) {
      xattrs.push(line.trim());
      continue;
    }
    inXattrs = false;
    let match: RegExpExecArray | null;
    if ((match = /Type: (\S+)\s+Mode:\s+(\d+)\s+Flags: (\S+)/.exec(line)) !== null) {
      type = match[1]!;
      fields.set('mode', match[2]!.padStart(4, '0'));
      fields.set('flags', match[3]!);
    } else if ((match = /User:\s+(\d+)\s+Group:\s+(\d+)(?:\s+Project:\s+(\d+))?\s+Size: (\d+)/.exec(line)) !== null) {
      fields.set('uid', match[1]!);
      fields.set('gid', match[2]!);
      if (match[3] !== undefined) fields.set('project', match[3]);
      fields.set('size', match[4]!);
    } else if ((match = /^Links: (\d+)/.exec(line)) !== null) {
      fields.set('links', match[1]!);
    } else if ((match = TIME.exec(line)) !== null) {
      const nanos = Number.parseInt(match[3]!, 16) >>> 2; // the low 2 bits extend the seconds' epoch
      fields.set(match[1]!, `${Number.parseInt(match[2]!, 16)}${nanos === 0 ? '' : `.${String(nanos).padStart(9, '0')}`}`);
    } else if ((match = /^Fast link dest: (.*)$/.exec(line)) !== null) {
      fields.set('link target', match[1]!);
    } else if ((match = /Device major\/minor number: (\S+)/.exec(line)) !== null) {
      fields.set('device', match[1]!);
    } else if (line.startsWith('Extended attributes:')) {
      inXattrs = true;
    }
  }
  if (xattrs.length > 0) fields.set('xattrs', xattrs.sort().join('; '));
  return { type, fields };
}

/** sha256 of every regular file and long symlink, dumped in batches into scratch and removed again. */
async function contentHashes(context: DiffContext, region: Region, inodes: Map<number, Inode>): Promise<Map<number, string>> {
  const wanted = [...inodes].filter(([, inode]) => inode.type === 'regular' || (inode.type === 'symlink' && !inode.fields.has('link target'))).map(([number]) => number);
  const hashes = new Map<number, string>();
  const dir = context.scratchPath('ext4-dump');
  for (let start = 0; start < wanted.length; start += DUMP_BATCH) {
    const batch = wanted.slice(start, start + DUMP_BATCH);
    await mkdir(dir, { recursive: true });
    try {
      await debugfs(context, region, batch.map((inode) => `dump <${inode}> "${path.join(dir, String(inode))}"`));
      for (const inode of batch) {
        const bytes = await readFile(path.join(dir, String(inode))).catch(() => undefined);
        hashes.set(inode, bytes === undefined ? '(unreadable)' : createHash('sha256').update(bytes).digest('hex'));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return hashes;
}

interface Filesystem {
  files: Map<string, Map<string, string>>;
  superblock: Map<string, string>;
}

async function readFilesystem(context: DiffContext, region: Region): Promise<Filesystem> {
  const entries = await listTree(context, region);
  const numbers = [...new Set(entries.map((entry) => entry.inode))];
  const outputs = await debugfs(context, region, numbers.map((inode) => `stat <${inode}>`));
  const inodes = new Map(numbers.map((inode, index) => [inode, parseStat(outputs[index] ?? '')]));
  const hashes = await contentHashes(context, region, inodes);
  const files = new Map<string, Map<string, string>>();
  for (const entry of entries) {
    const inode = inodes.get(entry.inode)!;
    const fields = new Map<string, string>([['type', inode.type], ...inode.fields]);
    const hash = hashes.get(entry.inode);
    if (hash !== undefined) fields.set(inode.type === 'symlink' ? 'link target sha256' : 'content sha256', hash);
    files.set(entry.path, fields);
  }
  const { stdout } = await context.runner.run('dumpe2fs', ['-h', device(region)], { artifact: `diff(${region.file})` });
  const superblock = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^([A-Za-z][^:]*):\s+(.*)$/.exec(line);
    if (match !== null) superblock.set(match[1]!, match[2]!.trim());
  }
  return { files, superblock };
}

/** The order fields are compared in: what a reader asks first. */
const FIELD_ORDER = ['type', 'mode', 'uid', 'gid', 'size', 'link target', 'link target sha256', 'device', 'content sha256', 'mtime', 'ctime', 'atime', 'crtime', 'xattrs', 'flags', 'links', 'project'];

/** Superblock fields that change whenever a file does: not news after the files' differences. */
const FOLLOWS_FROM_FILES = new Set(['Free blocks', 'Free inodes', 'Checksum', 'Lifetime writes', 'Last write time']);

export async function compareExt4(context: DiffContext, place: string[], a: Region, b: Region): Promise<void> {
  const { report } = context;
  const [fsA, fsB] = [await readFilesystem(context, a), await readFilesystem(context, b)];
  const before = report.differences.length;
  const paths = [...new Set([...fsA.files.keys(), ...fsB.files.keys()])].sort();
  for (const file of paths) {
    if (report.stopHere()) break;
    const [fieldsA, fieldsB] = [fsA.files.get(file), fsB.files.get(file)];
    if (fieldsA === undefined || fieldsB === undefined) {
      report.add({ place: [...place, file], what: `only in ${fieldsA === undefined ? 'B' : 'A'}` });
      continue;
    }
    const keys = [...new Set([...FIELD_ORDER, ...fieldsA.keys(), ...fieldsB.keys()])];
    for (const key of keys) report.field([...place, file], key, fieldsA.get(key), fieldsB.get(key));
  }
  const filesDiffer = report.differences.length > before;
  for (const key of new Set([...fsA.superblock.keys(), ...fsB.superblock.keys()])) {
    if (filesDiffer && FOLLOWS_FROM_FILES.has(key)) continue;
    report.field(place, `ext4 superblock ${JSON.stringify(key)}`, fsA.superblock.get(key), fsB.superblock.get(key));
  }
}
