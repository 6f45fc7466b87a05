import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from '../../definitions.ts';
import { UserError } from '../../errors.ts';
import { lookupContext, type FileContexts } from '../../lib/file-contexts.ts';
import { sortedEntries, type RootfsTree, type TreeEntry } from '../../lib/rootfs-tree.ts';

/**
 * One `debugfs -w -f` pass over a freshly made image that sets what `mke2fs -d` takes from the
 * host: every inode's timestamps (mke2fs copies the staging files' ctime and uses the clock for
 * crtime), xattrs the host may have added to staging files (SELinux labels, default ACLs), the
 * tar's xattrs and the SELinux labels from file_contexts.
 */

/** Xattrs a host can attach to files we create in staging; removed unless the tree sets them. */
const HOST_XATTRS = [
  'security.selinux',
  'security.ima',
  'security.evm',
  'security.SMACK64',
  'system.posix_acl_access',
  'system.posix_acl_default',
];

/** Inodes mke2fs stamps with the clock that no path reaches: bad blocks, resize, journal. */
const RESERVED_INODES = ['<1>', '<7>', '<8>'];

const TIME_FIELDS = ['atime', 'mtime', 'ctime', 'crtime'];

export interface FixupInput {
  tree: RootfsTree;
  epoch: number;
  fileContexts?: FileContexts;
  scratchDir: string;
}

/** Quotes a path for debugfs's command parser (double quotes, `""` for a quote). */
export function debugfsQuote(imagePath: string): string {
  return `"${imagePath.replaceAll('"', '""')}"`;
}

/** Writes the xattr value files and returns the debugfs commands. */
export async function buildFixupScript(input: FixupInput): Promise<string[]> {
  const commands: string[] = [];
  const valueFiles = new Map<string, string>();
  async function valueFile(value: Buffer): Promise<string> {
    const key = value.toString('hex');
    let file = valueFiles.get(key);
    if (file === undefined) {
      file = path.join(input.scratchDir, `xattr-${valueFiles.size}`);
      await writeFile(file, value);
      valueFiles.set(key, file);
    }
    return file;
  }
  const root = input.tree.entries.get('/')!;
  commands.push(`set_inode_field / mode 0${(0o40000 | root.mode).toString(8)}`);
  commands.push(`set_inode_field / uid ${root.uid}`, `set_inode_field / gid ${root.gid}`);
  const inodes: Array<Pick<TreeEntry, 'path' | 'type' | 'xattrs'>> = sortedEntries(input.tree).filter((e) => e.type !== 'hardlink');
  if (!input.tree.entries.has('/lost+found')) inodes.push({ path: '/lost+found', type: 'directory', xattrs: new Map() });
  for (const entry of inodes) {
    const spec = debugfsQuote(entry.path);
    for (const field of TIME_FIELDS) commands.push(`set_inode_field ${spec} ${field} ${input.epoch}`);
    const wanted = new Map(entry.xattrs);
    if (input.fileContexts !== undefined) {
      const context = lookupContext(input.fileContexts, entry.path, entry.type);
      if (context === undefined) wanted.delete('security.selinux');
      // Labels are NUL-terminated on disk, as the kernel and setfiles write them.
      else wanted.set('security.selinux', Buffer.from(`${context}\0`));
    }
    const stale = HOST_XATTRS.filter((name) => !wanted.has(name));
    if (stale.length > 0) commands.push(`ea_rm ${spec} ${stale.join(' ')}`);
    for (const name of [...wanted.keys()].sort()) {
      commands.push(`ea_set -f ${debugfsQuote(await valueFile(wanted.get(name)!))} ${spec} ${debugfsQuote(name)}`);
    }
  }
  for (const inode of RESERVED_INODES) {
    for (const field of TIME_FIELDS) commands.push(`set_inode_field ${inode} ${field} ${input.epoch}`);
  }
  return commands;
}

/** Runs the commands in one debugfs session; debugfs exits 0 on failed commands, so stderr is checked. */
export async function runDebugfs(
  runner: CommandRunner,
  options: { imagePath: string; commands: readonly string[]; scratchDir: string; artifact: string; epoch: number },
): Promise<void> {
  const commandFile = path.join(options.scratchDir, 'fixups.debugfs');
  await writeFile(commandFile, `${options.commands.join('\n')}\n`);
  const env: Record<string, string> = options.epoch > 0 ? { E2FSPROGS_FAKE_TIME: String(options.epoch) } : {};
  const { stderr } = await runner.run('debugfs', ['-w', '-f', commandFile, options.imagePath], { env, artifact: options.artifact });
  const problems = stderr.split('\n').filter((line) => line.trim() !== '' && !/^debugfs \d+\.\d+/.test(line));
  if (problems.length > 0) {
    throw new UserError(`${options.artifact}: debugfs reported errors while fixing up the image:\n${problems.slice(0, 10).join('\n')}`);
  }
}
