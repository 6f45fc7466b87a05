import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DiffContext } from './context.ts';
import type { Region } from './region.ts';

/**
 * FAT filesystems, read with mtools without mounting: `minfo` for the boot sector, `mcopy -s -p
 * -m` of the whole tree into scratch (with times, in UTC as the runner's TZ is) for each file's
 * type, size, mtime and sha256.
 */

/** mtools without user configuration or sanity-check refusals; an offset goes after `@@`. */
const MTOOLS_ENV = { MTOOLSRC: '/dev/null', MTOOLS_SKIP_CHECK: '1' };

function image(region: Region): string {
  return region.offset === 0 ? region.file : `${region.file}@@${region.offset}`;
}

/** Boot sector facts from `minfo`, without the lines that name the image file. */
async function bootSector(context: DiffContext, region: Region): Promise<Map<string, string>> {
  const { stdout } = await context.runner.run('minfo', ['-i', image(region), '::'], { env: MTOOLS_ENV, artifact: `diff(${region.file})`, input: '' });
  const fields = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const match = /^([a-z][^:=]*?)\s*[:=]\s*(.*)$/i.exec(line.trim());
    if (match === null || /^(filename|mformat command line)$/.test(match[1]!) || line.includes('mformat ')) continue;
    fields.set(match[1]!, match[2]!);
  }
  return fields;
}

async function walk(root: string, relative: string, files: Map<string, Map<string, string>>): Promise<void> {
  for (const name of (await readdir(path.join(root, relative))).sort()) {
    const entry = path.posix.join(relative, name);
    const full = path.join(root, entry);
    const info = await lstat(full);
    const fields = new Map<string, string>([
      ['type', info.isDirectory() ? 'directory' : 'regular'],
      ['mtime', String(Math.floor(info.mtimeMs / 1000))],
    ]);
    if (info.isDirectory()) {
      files.set(entry, fields);
      await walk(root, entry, files);
    } else {
      fields.set('size', String(info.size));
      fields.set('content sha256', createHash('sha256').update(await readFile(full)).digest('hex'));
      files.set(entry, fields);
    }
  }
}

async function readTree(context: DiffContext, region: Region): Promise<Map<string, Map<string, string>>> {
  const dir = context.scratchPath('fat');
  await mkdir(dir);
  const { stdout } = await context.runner.run('mdir', ['-i', image(region), '-b', '::/'], { env: MTOOLS_ENV, artifact: `diff(${region.file})`, input: '' });
  if (stdout.trim() !== '') {
    await context.runner.run('mcopy', ['-i', image(region), '-s', '-p', '-m', '-n', '-Q', '::/*', dir], { env: MTOOLS_ENV, artifact: `diff(${region.file})`, input: '' });
  }
  const files = new Map<string, Map<string, string>>();
  await walk(dir, '/', files);
  return files;
}

export async function compareFat(context: DiffContext, place: string[], a: Region, b: Region): Promise<void> {
  const { report } = context;
  const [treeA, treeB] = [await readTree(context, a), await readTree(context, b)];
  for (const file of [...new Set([...treeA.keys(), ...treeB.keys()])].sort()) {
    if (report.stopHere()) break;
    const [fieldsA, fieldsB] = [treeA.get(file), treeB.get(file)];
    if (fieldsA === undefined || fieldsB === undefined) {
      report.add({ place: [...place, file], what: `only in ${fieldsA === undefined ? 'B' : 'A'}` });
      continue;
    }
    for (const key of ['type', 'size', 'content sha256', 'mtime']) report.field([...place, file], key, fieldsA.get(key), fieldsB.get(key));
  }
  const [bootA, bootB] = [await bootSector(context, a), await bootSector(context, b)];
  for (const key of new Set([...bootA.keys(), ...bootB.keys()])) report.field(place, `FAT ${key}`, bootA.get(key), bootB.get(key));
}
