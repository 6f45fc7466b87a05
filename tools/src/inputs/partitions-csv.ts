import { z } from 'zod';
import { type Problem, throwIfProblems } from '../errors.ts';
import { describeSize } from '../lib/size.ts';
import { MESSAGES, quoted } from '../messages.ts';
import { csvField, identifier, wholeNumber } from './fields.ts';
import { parseCsvRows, readTableText } from './csv-lines.ts';
import { isGuid, isZeroGuid, PARTITION_TYPE_LETTERS } from './ids.ts';
import { IMAGE_LIMIT_RULE, MAX_IMAGE_BYTES } from './limits.ts';
import { type Partition, type PartitionTable, SECTOR_SIZE } from './tables.ts';
import { findOverlaps, findDuplicates } from './table-checks.ts';

/** Partitions start and end on 1 MiB boundaries (2048 sectors), as IC-OS requires. */
export const ALIGNMENT_SECTORS = 2048;
/** Sectors kept free at the end of the disk for the backup GPT (IC-OS reserves 1 MiB). */
export const BACKUP_GPT_SECTORS = 2048;
/** GPT partition names hold 36 UTF-16 code units; sfdisk's default table has 128 entries. */
const MAX_NAME_LENGTH = 36;
const MAX_PARTITIONS = 128;

/** The last sector a partition can end before: the backup GPT follows it, within MAX_IMAGE_BYTES. */
export const MAX_END_SECTOR = Math.floor(MAX_IMAGE_BYTES / SECTOR_SIZE) - BACKUP_GPT_SECTORS;

const COLUMNS = ['name', 'start', 'size', 'type', 'uuid', 'comment'] as const;

function aligned(unit: string, min: number) {
  const parseNumber = wholeNumber(unit, min, MAX_END_SECTOR, IMAGE_LIMIT_RULE);
  return csvField((text) => {
    const parsed = parseNumber(text);
    if ('rule' in parsed) return parsed;
    if (parsed.value % ALIGNMENT_SECTORS !== 0) {
      return { rule: `not aligned to 1 MiB: must be a multiple of ${ALIGNMENT_SECTORS} sectors` };
    }
    return parsed;
  });
}

const partitionRow = z.object({
  name: csvField(identifier(MAX_NAME_LENGTH)),
  start: aligned('512-byte sectors', ALIGNMENT_SECTORS),
  size: aligned('512-byte sectors', 1),
  type: csvField<string>((text) => {
    const letter = PARTITION_TYPE_LETTERS[text];
    if (letter !== undefined) return { value: letter };
    if (isZeroGuid(text)) return { rule: 'the all-zero type GUID marks an unused GPT entry: give the partition a type (U, L, M or a type GUID)' };
    if (isGuid(text)) return { value: text.toUpperCase() };
    return { rule: 'unknown partition type: expected U (EFI system), L (Linux), M (Microsoft basic data) or a type GUID' };
  }),
  uuid: csvField<string>((text) => {
    if (isZeroGuid(text)) return { rule: 'the all-zero GUID is no partition GUID: give every partition its own' };
    return isGuid(text) ? { value: text.toUpperCase() } : { rule: 'expected a GUID like 7C0A626E-E5EA-E543-B5C5-300EB8304DB7' };
  }),
  comment: z.string(),
});

/** Options for table-wide checks. */
export interface PartitionTableChecks {
  /** Disk size in bytes the table must fit into (with room for the backup GPT). */
  diskSize?: number;
}

/**
 * Parses and validates `partitions.csv` text (IC-OS format: `name,start,size,type,uuid,comment`,
 * sectors of 512 bytes). Collects every problem of every row and of the table as a whole, then
 * throws one ValidationError listing them all.
 */
export function parsePartitionTable(file: string, text: string, checks: PartitionTableChecks = {}): PartitionTable {
  const { rows, rowCount, problems } = parseCsvRows(file, text, COLUMNS, partitionRow);
  const partitions: Partition[] = rows.map(({ type, ...row }) => ({ ...row, typeGuid: type }));
  if (rowCount === 0) problems.push({ file, message: 'the table has no partitions' });
  if (rowCount > MAX_PARTITIONS) problems.push({ file, message: `${rowCount} partitions: a GPT holds at most ${MAX_PARTITIONS}` });
  problems.push(...findDuplicates(file, partitions, 'name', (p) => p.name));
  problems.push(...findDuplicates(file, partitions, 'uuid', (p) => p.uuid));
  problems.push(...findOverlaps(file, partitions, 'sectors'));
  problems.push(...checkWithinLimit(file, partitions));
  if (checks.diskSize !== undefined) problems.push(...checkFitsDisk(file, partitions, checks.diskSize));
  throwIfProblems(problems);
  return { file, partitions };
}

/** Start and size are each within the limit; their sum must be too. */
function checkWithinLimit(file: string, partitions: readonly Partition[]): Problem[] {
  return partitions
    .filter((p) => p.start + p.size > MAX_END_SECTOR)
    .map((p) => ({
      file,
      line: p.line,
      column: 'size',
      message: MESSAGES.exceedsLimit(`partition ${quoted(p.name)} ends at sector ${p.start + p.size}, after sector ${MAX_END_SECTOR}`, IMAGE_LIMIT_RULE),
    }));
}

function checkFitsDisk(file: string, partitions: readonly Partition[], diskSize: number): Problem[] {
  const usableEnd = Math.floor(diskSize / SECTOR_SIZE) - BACKUP_GPT_SECTORS;
  return partitions
    .filter((p) => p.start + p.size > usableEnd)
    .map((p) => ({
      file,
      line: p.line,
      column: 'size',
      message:
        `partition ${quoted(p.name)} ends at sector ${p.start + p.size}, beyond sector ${usableEnd}: ` +
        `the disk of ${describeSize(diskSize)} keeps its last 1 MiB for the backup GPT`,
    }));
}

/** The first sector after the last partition. */
export function tableEndSector(table: PartitionTable): number {
  return Math.max(...table.partitions.map((p) => p.start + p.size));
}

/** Reads and validates a partitions.csv file. */
export async function readPartitionTable(file: string, checks: PartitionTableChecks = {}): Promise<PartitionTable> {
  return parsePartitionTable(file, await readTableText(file, 'partition table'), checks);
}
