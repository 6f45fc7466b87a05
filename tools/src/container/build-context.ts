import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import tar from 'tar-stream';
import type { Component } from './component-manifest.ts';

/** Directory in the build context that holds component files at their install paths. */
export const COMPONENTS_DIR = 'components';

/** Files of an OS context that never go into a build: the pins are read by icos, not by the Dockerfile. */
function isContextFile(name: string): boolean {
  return !name.startsWith('docker-base.') && !name.startsWith('.');
}

interface ContextFile {
  name: string;
  source: string;
  executable: boolean;
  content?: Buffer;
}

async function listDir(dir: string, prefix = ''): Promise<ContextFile[]> {
  const files: ContextFile[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (prefix === '' && !isContextFile(entry.name)) continue;
    const source = path.join(dir, entry.name);
    const name = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) files.push(...(await listDir(source, name)));
    else if (entry.isFile()) files.push({ name, source, executable: ((await stat(source)).mode & 0o111) !== 0 });
  }
  return files;
}

/** Parent directories of a path, outermost first: `a/b/c` gives `a`, `a/b`. */
function parents(name: string): string[] {
  const parts = name.split('/').slice(0, -1);
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * Packs a build context as a tar stream: the OS context directory plus each component at
 * `components/<install path>`. Modes are 0644 or 0755 (from the source's x bit), owners root,
 * mtimes SOURCE_DATE_EPOCH, so a checkout's umask and file dates never reach the image.
 */
export async function packBuildContext(
  contextDirectory: string,
  components: readonly Component[],
  mtime: number,
): Promise<NodeJS.ReadableStream> {
  const files = [
    ...(await listDir(contextDirectory)),
    ...components.map((c) => ({ name: `${COMPONENTS_DIR}/${c.target}`, source: c.source, executable: c.executable, content: c.content })),
  ];
  const directories = [...new Set(files.flatMap((file) => parents(file.name)))].sort();
  const pack = tar.pack();
  const common = { uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(mtime * 1000) };
  // An empty components/ directory keeps the Dockerfile's COPY valid for an OS without components.
  if (!directories.includes(COMPONENTS_DIR)) pack.entry({ ...common, name: `${COMPONENTS_DIR}/`, type: 'directory', mode: 0o755 });
  for (const name of directories) pack.entry({ ...common, name: `${name}/`, type: 'directory', mode: 0o755 });
  for (const file of files.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    pack.entry({ ...common, name: file.name, type: 'file', mode: file.executable ? 0o755 : 0o644 }, file.content ?? (await readFile(file.source)));
  }
  pack.finalize();
  // tar-stream's streamx Readable pipes like a Node one, which is all the engine adapter does with it.
  return pack as unknown as NodeJS.ReadableStream;
}
