import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.ts';

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

/** Reads a table file, turning a missing or unreadable file into a message that names it. */
export async function readTableText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code})`;
    throw new UserError(`${file}: cannot read the ${what}: ${reason}`);
  }
}
