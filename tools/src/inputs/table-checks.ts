import type { Problem } from '../errors.ts';

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
    else problems.push({ file, line: row.line, column, message: `"${value}" is already used on line ${seen}` });
  }
  return problems;
}

/** One problem per pair of rows whose [start, start + size) ranges intersect. */
export function findOverlaps(file: string, rows: readonly Row[], unit: string): Problem[] {
  const sorted = [...rows].sort((a, b) => a.start - b.start || a.line - b.line);
  const problems: Problem[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!;
    for (let j = i + 1; j < sorted.length && sorted[j]!.start < a.start + a.size; j++) {
      const b = sorted[j]!;
      const [first, second] = a.line < b.line ? [a, b] : [b, a];
      problems.push({
        file,
        line: second.line,
        column: 'start',
        message:
          `"${second.name}" (${unit} ${second.start}-${second.start + second.size - 1}) overlaps ` +
          `"${first.name}" (${unit} ${first.start}-${first.start + first.size - 1}, line ${first.line})`,
      });
    }
  }
  return problems.sort((x, y) => (x.line ?? 0) - (y.line ?? 0));
}
