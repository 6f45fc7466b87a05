import { z } from 'zod';
import { type Problem, throwIfProblems } from '../errors.ts';
import { describeSize } from '../lib/size.ts';
import { MESSAGES, quoted } from '../messages.ts';
import { parseCsvRows, readTableText } from './csv-lines.ts';
import { csvField, identifier, wholeNumber } from './fields.ts';
import { lvNameProblem } from '../kinds/lvm/lvm-names.ts';
import { isLvmId } from './ids.ts';
import { LVM_LIMIT_RULE, MAX_LVM_END_EXTENT } from './limits.ts';
import { findDuplicates, findOverlaps } from './table-checks.ts';
import { EXTENT_SIZE, type Volume, type VolumeTable } from './tables.ts';

/** The LVM image keeps its first 1 MiB for the label and the metadata area. */
export const LVM_HEADER_BYTES = 1024 * 1024;
/** LVM limits logical volume names to 127 characters. */
const MAX_NAME_LENGTH = 127;

const COLUMNS = ['name', 'start', 'size', 'uuid', 'comment'] as const;

const volumeRow = z.object({
  name: csvField<string>((text) => {
    const parsed = identifier(MAX_NAME_LENGTH)(text);
    if ('rule' in parsed) return parsed;
    // lvcreate refuses these names too; refused here so validate finds them before a build.
    const reserved = lvNameProblem(text);
    return reserved === undefined ? parsed : { rule: `LV name ${reserved}` };
  }),
  start: csvField(wholeNumber('4 MiB extents', 0, MAX_LVM_END_EXTENT - 1, LVM_LIMIT_RULE)),
  size: csvField(wholeNumber('4 MiB extents', 1, MAX_LVM_END_EXTENT, LVM_LIMIT_RULE)),
  uuid: csvField<string>((text) =>
    isLvmId(text)
      ? { value: text }
      : { rule: 'expected an LVM id: 32 letters or digits in 6-4-4-4-4-4-6 groups, like SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm' },
  ),
  comment: z.string(),
});

/** Options for table-wide checks. */
export interface VolumeTableChecks {
  /** Size in bytes of the partition the LVM image must fit into. */
  pvSize?: number;
  /** Name of that partition, for messages. */
  pvName?: string;
}

/**
 * Parses and validates `volumes.csv` text (IC-OS format: `name,start,size,uuid,comment`, starts
 * and sizes in 4 MiB extents relative to the PV data area). Collects every problem, then throws.
 */
export function parseVolumeTable(file: string, text: string, checks: VolumeTableChecks = {}): VolumeTable {
  const { rows: volumes, rowCount, problems } = parseCsvRows(file, text, COLUMNS, volumeRow);
  if (rowCount === 0) problems.push({ file, message: 'the table has no volumes' });
  problems.push(...findDuplicates(file, volumes, 'name', (v) => v.name));
  problems.push(...findDuplicates(file, volumes, 'uuid', (v) => v.uuid));
  problems.push(...findOverlaps(file, volumes, 'extents'));
  problems.push(...volumeLimitProblems(file, volumes));
  if (checks.pvSize !== undefined && volumes.length > 0) {
    const needed = lvmImageSize({ file, volumes });
    if (needed > checks.pvSize) {
      const last = volumes.reduce((a, b) => (a.start + a.size >= b.start + b.size ? a : b));
      problems.push({
        file,
        line: last.line,
        column: 'size',
        message:
          `the volumes need an LVM image of ${describeSize(needed)} (1 MiB + ${last.start + last.size} extents), ` +
          `larger than partition ${quoted(checks.pvName ?? '?')} of ${describeSize(checks.pvSize)}`,
      });
    }
  }
  throwIfProblems(problems);
  return { file, volumes };
}

/** One problem per volume ending after the last extent an LVM image can have (start and size may each be within it). */
export function volumeLimitProblems(file: string, volumes: readonly Volume[]): Problem[] {
  return volumes
    .filter((v) => v.start + v.size > MAX_LVM_END_EXTENT)
    .map((v) => ({
      file,
      line: v.line,
      column: 'size',
      message: MESSAGES.exceedsLimit(`volume ${quoted(v.name)} ends at extent ${v.start + v.size}`, LVM_LIMIT_RULE),
    }));
}

/** Bytes of the LVM image for a table: 1 MiB of headers plus every extent up to the last volume's end. */
export function lvmImageSize(table: VolumeTable): number {
  // A loop, not Math.max(...rows): spreading a huge table overflows the stack.
  return LVM_HEADER_BYTES + table.volumes.reduce((end, v) => Math.max(end, v.start + v.size), 0) * EXTENT_SIZE;
}

/** Reads and validates a volumes.csv file. */
export async function readVolumeTable(file: string, checks: VolumeTableChecks = {}): Promise<VolumeTable> {
  return parseVolumeTable(file, await readTableText(file, 'volume table'), checks);
}
