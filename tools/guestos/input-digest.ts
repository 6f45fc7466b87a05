import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { REPO } from './layout.ts';

async function listFiles(entry: string): Promise<string[]> {
  const info = await stat(entry).catch(() => undefined);
  if (info === undefined) return [];
  if (info.isFile()) return [entry];
  const names = (await readdir(entry)).sort();
  return (await Promise.all(names.map((name) => listFiles(path.join(entry, name))))).flat();
}

/**
 * sha256 over the relative paths, modes and contents of the given files and directories (plus
 * any extra strings): the key under which a built output is reused instead of rebuilt.
 */
export async function inputDigest(entries: readonly string[], extras: readonly string[] = []): Promise<string> {
  const hash = createHash('sha256');
  for (const extra of extras) hash.update(`extra ${extra}\n`);
  const files = (await Promise.all(entries.map(listFiles))).flat().sort();
  for (const file of files) {
    const executable = ((await stat(file)).mode & 0o111) !== 0;
    hash.update(`${path.relative(REPO, file)} ${executable ? 'x' : '-'} `);
    hash.update(createHash('sha256').update(await readFile(file)).digest('hex'));
    hash.update('\n');
  }
  return hash.digest('hex');
}
