import { open, type FileHandle } from 'node:fs/promises';
import { UserError } from '../../errors.ts';
import { dataExtents, mergeExtents, readDataChunks, type Extent } from '../../lib/sparse-map.ts';
import { encodeHeaders, END_OF_ARCHIVE, paddingFor } from './header.ts';
import { hasHoles, sparseMapEntries, storedSize, type MemberLayout } from './map.ts';

/**
 * Writes deterministic tar archives whose sparse members carry a content-defined hole map.
 *
 * Hand-written rather than tar-stream or GNU tar: tar-stream cannot write sparse members, and
 * GNU tar's `--hole-detection=seek` map follows the host filesystem's block size while `raw` reads
 * every hole. The map here comes from `lib/sparse-map.ts` (aligned 4 KiB blocks, holes skipped with
 * SEEK_DATA), so the archive is the same on any filesystem and costs time in proportion to the data.
 */

/** One archive member: its name in the archive and the file it is read from. */
export interface TarMember {
  name: string;
  path: string;
}

/** Everything that is the same for every member of one archive. */
export interface TarSettings {
  /** Modification time of every member, seconds since the epoch. */
  mtime: number;
}

function changedError(member: TarMember): UserError {
  return new UserError(`sparse-tar: member "${member.name}": file "${member.path}" changed while it was being archived`);
}

/**
 * Copies the member's data blocks after its header. The map was taken in a first pass; the same
 * content-defined scan runs again here and must give the same extents, or the file changed.
 */
async function writeMemberData(out: FileHandle, member: TarMember, layout: MemberLayout): Promise<void> {
  const expected = storedSize(layout);
  const file = await open(member.path, 'r');
  try {
    if ((await file.stat()).size !== layout.size) throw changedError(member);
    const seen: Extent[] = [];
    let written = 0;
    for await (const chunk of readDataChunks(file, layout.size)) {
      written += chunk.bytes.length;
      if (written > expected) throw changedError(member);
      seen.push({ offset: chunk.offset, length: chunk.bytes.length });
      await out.write(chunk.bytes);
    }
    if (JSON.stringify(mergeExtents(seen)) !== JSON.stringify(layout.extents)) throw changedError(member);
    await out.write(paddingFor(written));
  } finally {
    await file.close();
  }
}

/** Writes the header(s) and data of one member: a sparse ('S') member when its map has holes. */
async function writeMember(out: FileHandle, member: TarMember, settings: TarSettings): Promise<void> {
  const layout = await dataExtents(member.path);
  const sparse = hasHoles(layout) ? { realSize: layout.size, map: sparseMapEntries(layout) } : undefined;
  await out.write(encodeHeaders({ name: member.name, mtime: settings.mtime, storedSize: storedSize(layout), sparse }));
  await writeMemberData(out, member, layout);
}

/** Writes an uncompressed tar of `members`, in the given order, to `outPath`. */
export async function writeSparseTar(members: readonly TarMember[], outPath: string, settings: TarSettings): Promise<void> {
  const out = await open(outPath, 'w');
  try {
    for (const member of members) await writeMember(out, member, settings);
    await out.write(END_OF_ARCHIVE);
  } finally {
    await out.close();
  }
}
