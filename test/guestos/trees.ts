/**
 * Root trees of built GuestOS images, read back with e2fsprogs' debugfs (not with our code),
 * and the declared differences between envs (envs/guestos/tree-differences.conf).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { toolAsync } from '../support/tools.ts';

/** path (absolute in the image) -> `type mode uid:gid size-or-target content-hash`. */
export type Tree = Map<string, string>;

// Asynchronous throughout: a whole root tree takes a minute to dump and hash on a loaded
// machine, and a vitest worker that blocks that long fails the run (test/support/tools.ts).
async function describe(file: string): Promise<string> {
  const info = await lstat(file);
  const owner = `${(info.mode & 0o7777).toString(8)} ${info.uid}:${info.gid}`;
  if (info.isSymbolicLink()) return `symlink ${owner} -> ${await readlink(file)}`;
  if (info.isDirectory()) return `dir ${owner}`;
  if (info.isFile()) return `file ${owner} ${info.size} ${createHash('sha256').update(await readFile(file)).digest('hex')}`;
  return `special ${owner} ${info.rdev}`;
}

async function walk(dir: string, prefix: string, tree: Tree): Promise<void> {
  for (const name of (await readdir(dir)).sort()) {
    const full = path.join(dir, name);
    const imagePath = `${prefix}/${name}`;
    const description = await describe(full);
    tree.set(imagePath, description);
    if (description.startsWith('dir ')) await walk(full, imagePath, tree);
  }
}

/** Dumps an ext4 image's whole tree into `dest` with debugfs rdump (owners and modes kept). */
export async function dumpExt4(image: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  const listing = await toolAsync('debugfs', ['-R', 'ls -p /', image]);
  const names = listing
    .split('\n')
    .map((line) => line.split('/')[5])
    .filter((name): name is string => name !== undefined && name !== '' && name !== '.' && name !== '..' && name !== 'lost+found');
  if (names.length === 0) return;
  await toolAsync('debugfs', ['-R', `rdump ${names.map((n) => `"/${n}"`).join(' ')} "${dest}"`, image]);
}

/** The tree of an env: the root image, with the boot image's tree under /boot. */
export async function readImageTree(rootImage: string, bootImage: string, scratch: string): Promise<Tree> {
  const rootDir = path.join(scratch, 'root');
  const bootDir = path.join(scratch, 'boot');
  await dumpExt4(rootImage, rootDir);
  await dumpExt4(bootImage, bootDir);
  const tree: Tree = new Map();
  await walk(rootDir, '', tree);
  await walk(bootDir, '/boot', tree);
  return tree;
}

/** Paths whose description differs, or that exist in only one tree, sorted. */
export function diffTrees(a: Tree, b: Tree): string[] {
  const paths = new Set([...a.keys(), ...b.keys()]);
  return [...paths].filter((p) => a.get(p) !== b.get(p)).sort();
}

/** One section of tree-differences.conf: the allowed differences between two envs. */
export interface AllowedDifferences {
  globs: RegExp[];
  /** `dev-packages`: files of packages installed in the second env's rootfs and not in the first's. */
  packageRule: boolean;
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Parses tree-differences.conf: `[envA envB]` headers, then globs or the `dev-packages` rule. */
export function readAllowedDifferences(file: string): Map<string, AllowedDifferences> {
  const sections = new Map<string, AllowedDifferences>();
  let current: AllowedDifferences | undefined;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, index) => {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') return;
      const header = /^\[(\S+) (\S+)\]$/.exec(line);
      if (header !== null) {
        current = { globs: [], packageRule: false };
        sections.set(`${header[1]} ${header[2]}`, current);
      } else if (current === undefined) {
        throw new Error(`${file}:${index + 1}: "${line}" before any [envA envB] section`);
      } else if (line === 'dev-packages') {
        current.packageRule = true;
      } else if (line.startsWith('/')) {
        current.globs.push(globToRegExp(line));
      } else {
        throw new Error(`${file}:${index + 1}: "${line}": expected an absolute path glob or dev-packages`);
      }
    });
  return sections;
}

/** Installed package names of a rootfs tar, from its dpkg status file. */
export function installedPackages(rootfsTar: string): Set<string> {
  const status = execFileSync('tar', ['-xOf', rootfsTar, 'var/lib/dpkg/status'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const installed = new Set<string>();
  for (const stanza of status.split('\n\n')) {
    const name = /^Package: (\S+)$/m.exec(stanza)?.[1];
    if (name !== undefined && /^Status: install ok installed$/m.test(stanza)) installed.add(name);
  }
  return installed;
}

/** Files dpkg lists for the given packages in a rootfs tar (with /usr-merge aliases of /bin, /sbin, /lib). */
export function filesOfPackages(rootfsTar: string, packages: Iterable<string>): Set<string> {
  const files = new Set<string>();
  const listing = execFileSync('tar', ['-tf', rootfsTar, '--wildcards', 'var/lib/dpkg/info/*.list'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const lists = new Set(listing.split('\n').filter(Boolean));
  for (const pkg of packages) {
    for (const candidate of [`var/lib/dpkg/info/${pkg}.list`, `var/lib/dpkg/info/${pkg}:amd64.list`]) {
      if (!lists.has(candidate)) continue;
      for (const file of execFileSync('tar', ['-xOf', rootfsTar, candidate], { encoding: 'utf8' }).split('\n')) {
        if (file === '' || file === '/.') continue;
        files.add(file);
        const merged = /^\/(bin|sbin|lib|lib64)\//.test(file) ? `/usr${file}` : undefined;
        if (merged !== undefined) files.add(merged);
      }
    }
  }
  return files;
}
