import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.ts';
import { MESSAGES, notJson } from '../messages.ts';

/** One output file of a build: how the table names it, and where this build wrote it. */
export interface Artifact {
  /** Its path under the configuration's output folder (`envs/x/dev/disk-img.tar.zst`), the same in both builds. */
  name: string;
  path: string;
}

interface BepFile {
  name?: string;
  uri?: string;
  pathPrefix?: string[];
}

interface BepEvent {
  id?: { namedSet?: { id?: string }; targetCompleted?: { label?: string } };
  namedSetOfFiles?: { files?: BepFile[]; fileSets?: { id?: string }[] };
  completed?: { success?: boolean; outputGroup?: { fileSets?: { id?: string }[] }[] };
}

/**
 * The output files of every target a build completed, from its Build Event Protocol stream
 * (`--build_event_json_file`, one JSON event a line): each completed target's output groups name
 * file sets, which list files and further sets. Sorted by name; `source` names the file in errors.
 */
export function parseBuildEvents(text: string, source: string): Artifact[] {
  const sets = new Map<string, NonNullable<BepEvent['namedSetOfFiles']>>();
  const roots: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let event: BepEvent;
    try {
      event = JSON.parse(line) as BepEvent;
    } catch (error) {
      throw new UserError(`${source}:${index + 1}: ${notJson(error)}`);
    }
    const setId = event.id?.namedSet?.id;
    if (setId !== undefined && event.namedSetOfFiles !== undefined) sets.set(setId, event.namedSetOfFiles);
    if (event.id?.targetCompleted !== undefined && event.completed?.success === true) {
      for (const group of event.completed.outputGroup ?? []) {
        for (const fileSet of group.fileSets ?? []) if (fileSet.id !== undefined) roots.push(fileSet.id);
      }
    }
  });
  const files = new Map<string, { name: string; prefixed: string; path: string }>();
  const seen = new Set<string>();
  const visit = (id: string): void => {
    if (seen.has(id)) return;
    seen.add(id);
    const set = sets.get(id);
    if (set === undefined) throw new UserError(`${source}: file set ${id} is named but never listed (an incomplete build event file)`);
    for (const file of set.files ?? []) {
      if (file.name === undefined || file.uri === undefined || !file.uri.startsWith('file://')) continue;
      const prefixed = [...(file.pathPrefix ?? []), file.name].join('/');
      files.set(prefixed, { name: file.name, prefixed, path: fileURLToPath(file.uri) });
    }
    for (const child of set.fileSets ?? []) if (child.id !== undefined) visit(child.id);
  };
  roots.forEach(visit);
  // Named by their path in the package; with the output folder (bazel-out/k8-fastbuild/bin) only
  // where two configurations made a file of the same name.
  const count = new Map<string, number>();
  for (const file of files.values()) count.set(file.name, (count.get(file.name) ?? 0) + 1);
  return [...files.values()]
    .map((file) => ({ name: count.get(file.name)! > 1 ? file.prefixed : file.name, path: file.path }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The files of an artifact: itself, or every regular file of a tree artifact (a directory). */
export async function expandArtifact(artifact: Artifact): Promise<Artifact[]> {
  const info = await lstat(artifact.path).catch((error: unknown) => {
    throw new UserError(MESSAGES.cannotRead(`build output "${artifact.path}"`, error));
  });
  if (!info.isDirectory()) return [artifact];
  const files: Artifact[] = [];
  for (const entry of (await readdir(artifact.path, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    files.push(...(await expandArtifact({ name: `${artifact.name}/${entry.name}`, path: path.join(artifact.path, entry.name) })));
  }
  return files;
}

export interface Digest {
  size: number;
  sha256: string;
}

/** Size and sha256 of a file (a symbolic link: of the path it names, as the bytes a user gets). */
export async function digestFile(file: string): Promise<Digest> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
  } catch (error) {
    throw new UserError(MESSAGES.cannotRead(`build output "${file}"`, error));
  }
  return { size, sha256: hash.digest('hex') };
}

/** One line of the comparison: an artifact as each build made it (undefined: that build has none). */
export interface ComparedArtifact {
  name: string;
  a?: Digest & { path: string };
  b?: Digest & { path: string };
}

export function isSame(row: ComparedArtifact): boolean {
  return row.a !== undefined && row.b !== undefined && row.a.sha256 === row.b.sha256 && row.a.size === row.b.size;
}

/** Pairs the two builds' artifacts by name, sorted; an artifact only one build made is a difference. */
export function pairArtifacts(
  a: ReadonlyMap<string, Digest & { path: string }>,
  b: ReadonlyMap<string, Digest & { path: string }>,
): ComparedArtifact[] {
  const names = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x.localeCompare(y));
  return names.map((name) => ({ name, a: a.get(name), b: b.get(name) }));
}

/** The table: artifact, size, sha256 of build A, and "same" or build B's sha256. */
export function formatTable(rows: readonly ComparedArtifact[]): string {
  const cells = rows.map((row) => {
    const size = row.a?.size ?? row.b?.size;
    const sizeText = row.a !== undefined && row.b !== undefined && row.a.size !== row.b.size ? `${row.a.size} ≠ ${row.b.size}` : String(size);
    return [row.name, sizeText, row.a?.sha256 ?? '(not built)', isSame(row) ? 'same' : row.b?.sha256 ?? '(not built)'];
  });
  const header = ['artifact', 'size', 'sha256 A', 'sha256 B'];
  const widths = header.map((title, column) => Math.max([...title].length, ...cells.map((cell) => [...cell[column]!].length)));
  const line = (cell: readonly string[]) =>
    cell.map((text, column) => (column === cell.length - 1 ? text : text + ' '.repeat(widths[column]! - [...text].length))).join('  ');
  return [line(header), ...cells.map(line)].join('\n') + '\n';
}
