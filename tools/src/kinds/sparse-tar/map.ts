import type { Extent } from '../../lib/sparse-map.ts';

/** A member's content-defined layout: its real size and the data extents that are stored. */
export interface MemberLayout {
  size: number;
  /** Maximal runs of non-zero 4 KiB blocks, ascending, as `dataExtents` returns them. */
  extents: Extent[];
}

/** Bytes the archive stores for the member (the sum of its data extents). */
export function storedSize(layout: MemberLayout): number {
  return layout.extents.reduce((sum, extent) => sum + extent.length, 0);
}

/** Whether any byte range of the member is a hole, so it must become a sparse ('S') member. */
export function hasHoles(layout: MemberLayout): boolean {
  return storedSize(layout) < layout.size;
}

/**
 * The sparse map written into the headers: the data extents, then a zero-length entry at the real
 * size. GNU tar (`--hole-detection=seek`) ends every map the same way and, on extraction,
 * truncates the file at that entry, so a file ending in a hole comes out at its full size.
 */
export function sparseMapEntries(layout: MemberLayout): Extent[] {
  return [...layout.extents.map(({ offset, length }) => ({ offset, length })), { offset: layout.size, length: 0 }];
}
