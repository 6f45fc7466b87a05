import { open, type FileHandle } from 'node:fs/promises';
import { UserError } from '../../errors.ts';
import { dataExtents, mergeExtents, readDataChunks, type DataChunk, type Extent } from '../../lib/sparse-map.ts';
import { FRAME_WINDOW } from './frames.ts';
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
  /**
   * Offsets where framing windows restart (a disk's partition starts), so a window of a partition
   * inside the disk holds the same bytes as that window of the partition's own archive. Default [0].
   */
  origins?: readonly number[];
}

/** Everything that is the same for every member of one archive. */
export interface TarSettings {
  /** Modification time of every member, seconds since the epoch. */
  mtime: number;
}

/**
 * Where the archive's bytes go. `data` gets a member's stored bytes in order with the window they
 * belong to (see `frames.ts`); `meta` everything else. The bytes passed may be reused by the caller.
 */
export interface TarSink {
  meta(bytes: Buffer): Promise<void>;
  data(window: string, bytes: Buffer): Promise<void>;
}

/** A sink that writes the plain tar to a file. */
export function fileSink(out: FileHandle): TarSink {
  return { meta: async (bytes) => void (await out.write(bytes)), data: async (_window, bytes) => void (await out.write(bytes)) };
}

function changedError(member: TarMember): UserError {
  return new UserError(`sparse-tar: member "${member.name}": file "${member.path}" changed while it was being archived`);
}

/** The window `offset` is in: its name and where it ends (the next window or origin). */
function windowAt(offset: number, origins: readonly number[], size: number): { name: string; end: number } {
  let origin = 0;
  let next = size;
  for (const candidate of origins) {
    if (candidate <= offset) origin = Math.max(origin, candidate);
    else next = Math.min(next, candidate);
  }
  const index = Math.floor((offset - origin) / FRAME_WINDOW);
  return { name: `${origin}+${index}`, end: Math.min(next, origin + (index + 1) * FRAME_WINDOW) };
}

/** Sends `chunk` to the sink, split where it crosses window boundaries. */
async function sendData(sink: TarSink, chunk: DataChunk, origins: readonly number[], size: number): Promise<void> {
  let at = 0;
  while (at < chunk.bytes.length) {
    const window = windowAt(chunk.offset + at, origins, size);
    const take = Math.min(chunk.bytes.length - at, window.end - (chunk.offset + at));
    await sink.data(window.name, chunk.bytes.subarray(at, at + take));
    at += take;
  }
}

/**
 * Copies the member's data blocks after its header. The map was taken in a first pass; the same
 * content-defined scan runs again here and must give the same extents, or the file changed.
 */
async function writeMemberData(sink: TarSink, member: TarMember, layout: MemberLayout): Promise<void> {
  const expected = storedSize(layout);
  const origins = member.origins ?? [0];
  const file = await open(member.path, 'r');
  try {
    if ((await file.stat()).size !== layout.size) throw changedError(member);
    const seen: Extent[] = [];
    let written = 0;
    for await (const chunk of readDataChunks(file, layout.size)) {
      written += chunk.bytes.length;
      if (written > expected) throw changedError(member);
      seen.push({ offset: chunk.offset, length: chunk.bytes.length });
      await sendData(sink, chunk, origins, layout.size);
    }
    if (JSON.stringify(mergeExtents(seen)) !== JSON.stringify(layout.extents)) throw changedError(member);
    await sink.meta(paddingFor(written));
  } finally {
    await file.close();
  }
}

/** Writes the header(s) and data of one member: a sparse ('S') member when its map has holes. */
async function writeMember(sink: TarSink, member: TarMember, settings: TarSettings): Promise<void> {
  const layout = await dataExtents(member.path);
  const sparse = hasHoles(layout) ? { realSize: layout.size, map: sparseMapEntries(layout) } : undefined;
  await sink.meta(encodeHeaders({ name: member.name, mtime: settings.mtime, storedSize: storedSize(layout), sparse }));
  await writeMemberData(sink, member, layout);
}

/** Writes a tar of `members`, in the given order, into `sink`. */
export async function writeSparseTarTo(sink: TarSink, members: readonly TarMember[], settings: TarSettings): Promise<void> {
  for (const member of members) await writeMember(sink, member, settings);
  await sink.meta(END_OF_ARCHIVE);
}

/** Writes an uncompressed tar of `members`, in the given order, to `outPath`. */
export async function writeSparseTar(members: readonly TarMember[], outPath: string, settings: TarSettings): Promise<void> {
  const out = await open(outPath, 'w');
  try {
    await writeSparseTarTo(fileSink(out), members, settings);
  } finally {
    await out.close();
  }
}
