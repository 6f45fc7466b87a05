import type { Problem } from '../errors.ts';
import { quoted } from '../messages.ts';

interface Row {
  name: string;
  start: number;
  size: number;
  line: number;
}

/** One problem per row whose key repeats an earlier row's (case-insensitive). */
export function findDuplicates<T extends { line: number }>(
  file: string,
  rows: readonly T[],
  column: string,
  key: (row: T) => string,
): Problem[] {
  const firstLine = new Map<string, number>();
  const problems: Problem[] = [];
  for (const row of rows) {
    const value = key(row);
    const seen = firstLine.get(value.toLowerCase());
    if (seen === undefined) firstLine.set(value.toLowerCase(), row.line);
    else problems.push({ file, line: row.line, column, message: `${quoted(value)} is already used on line ${seen}` });
  }
  return problems;
}

/**
 * Rows whose [start, start + size) ranges intersect: sorted by start, each row is compared with the
 * row reaching furthest so far, so every overlapping row is reported once, against the row it runs
 * into, in O(n log n) (listing every pair grows with the square of the rows: 5000 rows on top of
 * each other would make 12.5 million messages).
 */
export function findOverlaps(file: string, rows: readonly Row[], unit: string): Problem[] {
  const sorted = [...rows].sort((a, b) => a.start - b.start || a.line - b.line);
  const problems: Problem[] = [];
  let furthest = sorted[0];
  for (const row of sorted.slice(1)) {
    if (furthest === undefined) break;
    if (row.start < furthest.start + furthest.size) {
      const [first, second] = furthest.line < row.line ? [furthest, row] : [row, furthest];
      problems.push({
        file,
        line: second.line,
        column: 'start',
        message:
          `${quoted(second.name)} (${unit} ${second.start}-${second.start + second.size - 1}) overlaps ` +
          `${quoted(first.name)} (${unit} ${first.start}-${first.start + first.size - 1}, line ${first.line})`,
      });
    }
    if (row.start + row.size > furthest.start + furthest.size) furthest = row;
  }
  return problems.sort((x, y) => (x.line ?? 0) - (y.line ?? 0));
}
