import type { z } from 'zod';
import { type Problem } from '../errors.ts';
import { readRegularText } from '../lib/input-file.ts';

/** One data row of an IC-OS table: its 1-based line number and its fields, padding stripped. */
export interface CsvRow {
  line: number;
  fields: string[];
}

/**
 * Splits IC-OS table text into rows: `#` comment lines and blank lines are ignored, fields are
 * comma-separated and the padding around every field is stripped (tables are aligned by hand).
 * Commas after the last named column belong to the free-text comment.
 */
export function splitCsvRows(text: string, columnCount: number): CsvRow[] {
  const rows: CsvRow[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const parts = raw.split(',');
    const fields = parts.slice(0, columnCount - 1).map((f) => f.trim());
    if (parts.length >= columnCount) fields.push(parts.slice(columnCount - 1).join(',').trim());
    rows.push({ line: index + 1, fields });
  });
  return rows;
}

/**
 * Reads a table file, turning a missing or unreadable file into a message that names it; a FIFO,
 * device or directory is refused before it is opened (it would hang or never end).
 */
export async function readTableText(file: string, what: string): Promise<string> {
  return readRegularText(file, `${file} (${what})`);
}

/**
 * Splits `text` into rows and validates each against `schema` (whose keys are `columns`; the last
 * column, a comment, may be missing). Returns the parsed rows with their line numbers, and one
 * located problem per bad field or short row.
 */
export function parseCsvRows<Row>(
  file: string,
  text: string,
  columns: readonly string[],
  schema: z.ZodType<Row, z.ZodTypeDef, unknown>,
): { rows: Array<Row & { line: number }>; rowCount: number; problems: Problem[] } {
  const rows: Array<Row & { line: number }> = [];
  const problems: Problem[] = [];
  const split = splitCsvRows(text, columns.length);
  for (const { line, fields } of split) {
    if (fields.length < columns.length - 1) {
      problems.push({ file, line, message: `expected the columns ${columns.join(',')}, found ${fields.length} field(s)` });
      continue;
    }
    const parsed = schema.safeParse(Object.fromEntries(columns.map((column, i) => [column, fields[i] ?? ''])));
    if (parsed.success) rows.push({ ...parsed.data, line });
    else for (const issue of parsed.error.issues) problems.push({ file, line, column: String(issue.path[0]), message: issue.message });
  }
  return { rows, rowCount: split.length, problems };
}
