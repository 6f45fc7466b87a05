import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from '../../definitions.ts';
import { UserError } from '../../errors.ts';
import { lookupContext, type FileContexts } from '../../lib/file-contexts.ts';
import { compareBytes, type EntryType, type ExtraFile } from '../../lib/rootfs-tree.ts';
import { debugfsQuote } from '../ext4/fixups.ts';

/**
 * The two debugfs passes of `ext4-inject`: a read-only pass that lists the directories on the way
 * to every destination (`ls -p`, parseable), then one write pass that creates the missing
 * directories, replaces or writes the files and stamps every inode it touched.
 */

/** What an image path is in the base image, as far as the listings tell. */
export type Existing = 'directory' | 'other' | 'missing';

/** Xattrs `write` could carry over or a host could add; removed unless a label is wanted. */
const STRAY_XATTRS = ['security.selinux', 'security.ima', 'security.evm', 'security.SMACK64', 'system.posix_acl_access', 'system.posix_acl_default'];
const TIME_FIELDS = ['atime', 'mtime', 'ctime', 'crtime'];
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** Every directory above `imagePath`, root first (`/a/b/c` -> `/`, `/a`, `/a/b`). */
export function ancestorsOf(imagePath: string): string[] {
  const result: string[] = [];
  for (let dir = path.posix.dirname(imagePath); ; dir = path.posix.dirname(dir)) {
    result.unshift(dir);
    if (dir === '/') return result;
  }
}

/** Lists the directories above every destination in one read-only debugfs run: path -> what it is. */
export async function probeImage(
  runner: CommandRunner,
  imagePath: string,
  extras: readonly ExtraFile[],
  scratchDir: string,
): Promise<Map<string, Existing>> {
  const dirs = [...new Set(extras.flatMap((extra) => ancestorsOf(extra.destination)))].sort(compareBytes);
  const commandFile = path.join(scratchDir, 'probe.debugfs');
  await writeFile(commandFile, `${dirs.map((dir) => `ls -p ${debugfsQuote(dir)}`).join('\n')}\n`);
  // A directory that does not exist only prints to stderr; its parent's listing says so too.
  const { stdout } = await runner.run('debugfs', ['-f', commandFile, imagePath]);
  const blocks = stdout.split('\n').reduce<string[][]>((acc, line) => {
    if (line.startsWith('debugfs: ')) acc.push([]);
    else if (line.startsWith('/')) acc.at(-1)?.push(line);
    return acc;
  }, []);
  if (blocks.length !== dirs.length) {
    throw new UserError(`ext4-inject: debugfs answered ${blocks.length} of ${dirs.length} directory listings of "${imagePath}"`);
  }
  const found = new Map<string, Existing>([['/', 'directory']]);
  dirs.forEach((dir, index) => {
    for (const line of blocks[index]!) {
      // `/INODE/MODE/UID/GID/NAME/SIZE/`: names cannot hold a slash.
      const [, , mode, , , name] = line.split('/');
      if (name === undefined || name === '.' || name === '..') continue;
      const child = dir === '/' ? `/${name}` : `${dir}/${name}`;
      found.set(child, (parseInt(mode!, 8) & S_IFMT) === S_IFDIR ? 'directory' : 'other');
    }
  });
  return found;
}

export interface InjectScriptInput {
  extras: readonly ExtraFile[];
  existing: ReadonlyMap<string, Existing>;
  epoch: number;
  fileContexts?: FileContexts;
  scratchDir: string;
  artifact: string;
}

/** The debugfs commands of the write pass (and the label files they read). */
export async function buildInjectScript(input: InjectScriptInput): Promise<string[]> {
  const { existing, artifact } = input;
  const commands: string[] = [];
  const labelFiles = new Map<string, string>();
  async function stamp(imagePath: string, type: EntryType): Promise<void> {
    const spec = debugfsQuote(imagePath);
    for (const field of TIME_FIELDS) commands.push(`set_inode_field ${spec} ${field} ${input.epoch}`);
    if (input.fileContexts === undefined) return;
    const context = lookupContext(input.fileContexts, imagePath, type);
    if (context === undefined) return;
    let file = labelFiles.get(context);
    if (file === undefined) {
      file = path.join(input.scratchDir, `label-${labelFiles.size}`);
      // NUL-terminated, as the kernel and setfiles write labels.
      await writeFile(file, `${context}\0`);
      labelFiles.set(context, file);
    }
    commands.push(`ea_set -f ${debugfsQuote(file)} ${spec} security.selinux`);
  }

  const touchedDirs = new Set<string>();
  const created = new Set<string>();
  for (const extra of input.extras) {
    const where = `${artifact}: --extra "${extra.source}:${extra.destination}"`;
    for (const dir of ancestorsOf(extra.destination)) {
      touchedDirs.add(dir);
      const state = created.has(dir) ? 'directory' : existing.get(dir) ?? 'missing';
      if (state === 'other') throw new UserError(`${where}: "${dir}" is not a directory in the base image`);
      if (state === 'missing') created.add(dir);
    }
  }
  for (const dir of [...created].sort(compareBytes)) {
    const spec = debugfsQuote(dir);
    commands.push(`mkdir ${spec}`, `set_inode_field ${spec} mode 0${(S_IFDIR | 0o755).toString(8)}`);
    commands.push(`set_inode_field ${spec} uid 0`, `set_inode_field ${spec} gid 0`);
    await stamp(dir, 'directory');
  }
  for (const extra of input.extras) {
    const spec = debugfsQuote(extra.destination);
    const state = existing.get(extra.destination) ?? 'missing';
    if (state === 'directory' || created.has(extra.destination)) {
      throw new UserError(`${artifact}: --extra "${extra.source}:${extra.destination}": "${extra.destination}" is a directory in the base image`);
    }
    if (state === 'other') commands.push(`rm ${spec}`);
    commands.push(`write ${debugfsQuote(extra.source)} ${spec}`);
    commands.push(`set_inode_field ${spec} mode 0${(S_IFREG | extra.mode).toString(8)}`);
    commands.push(`set_inode_field ${spec} uid 0`, `set_inode_field ${spec} gid 0`);
    commands.push(`ea_rm ${spec} ${STRAY_XATTRS.join(' ')}`);
    await stamp(extra.destination, 'file');
  }
  // Linking and unlinking changes the times of the directories above; put them back.
  for (const dir of [...touchedDirs].filter((d) => !created.has(d)).sort(compareBytes)) {
    for (const field of TIME_FIELDS) commands.push(`set_inode_field ${debugfsQuote(dir)} ${field} ${input.epoch}`);
  }
  return commands;
}
