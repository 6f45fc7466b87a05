import { describe, expect, it } from 'vitest';
import { MAX_LISTED_PROBLEMS, ValidationError } from '../errors.ts';
import { MAX_END_SECTOR, parsePartitionTable, readPartitionTable, tableEndSector } from './partitions-csv.ts';

const GOOD = [
  '# comment line',
  '',
  'esp   ,   2048, 204800, U, B78084E2-3363-1346-8C25-D426F26B8928, EFI',
  'root  , 206848, 204800, L, 7c0a626e-e5ea-e543-b5c5-300eb8304db7, root, with a comma',
].join('\n');

function problemsOf(text: string, diskSize?: number): string {
  try {
    parsePartitionTable('p.csv', text, { diskSize });
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).message;
  }
  throw new Error('expected a ValidationError');
}

const ROW = (fields: string) => `esp, 2048, 204800, U, B78084E2-3363-1346-8C25-D426F26B8928, x\n${fields}`;

describe('parsePartitionTable', () => {
  it('reads padded rows, letters, comments, and keeps commas in comments', () => {
    const table = parsePartitionTable('p.csv', GOOD);
    expect(table.partitions).toEqual([
      { name: 'esp', start: 2048, size: 204800, typeGuid: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', uuid: 'B78084E2-3363-1346-8C25-D426F26B8928', comment: 'EFI', line: 3 },
      { name: 'root', start: 206848, size: 204800, typeGuid: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', uuid: '7C0A626E-E5EA-E543-B5C5-300EB8304DB7', comment: 'root, with a comma', line: 4 },
    ]);
    expect(tableEndSector(table)).toBe(411648);
  });

  it('accepts a full type GUID and a missing comment column', () => {
    const table = parsePartitionTable('p.csv', 'x, 2048, 2048, ebd0a0a2-b9e5-4433-87c0-68b6b72699c7, B78084E2-3363-1346-8C25-D426F26B8928');
    expect(table.partitions[0]).toMatchObject({ typeGuid: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7', comment: '' });
  });

  it('reads the repository tables', async () => {
    expect((await readPartitionTable('partitions/guestos/partitions.csv')).partitions.map((p) => p.name)).toEqual([
      'esp', 'grub', 'config', 'A_boot', 'A_root', 'A_var', 'B_boot', 'B_root', 'B_var',
    ]);
    expect((await readPartitionTable('partitions/hostos/partitions.csv')).partitions).toHaveLength(3);
    expect((await readPartitionTable('partitions/setupos/partitions.csv')).partitions).toHaveLength(6);
  });

  // Each malformed table, and the exact located message it must produce.
  it.each([
    ['unaligned start', ROW('b, 206849, 2048, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6'),
      'p.csv:2: column "start": "206849": not aligned to 1 MiB: must be a multiple of 2048 sectors'],
    ['unaligned size', ROW('b, 206848, 1000, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6'),
      'p.csv:2: column "size": "1000": not aligned to 1 MiB: must be a multiple of 2048 sectors'],
    ['zero size', ROW('b, 206848, 0, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6'),
      'p.csv:2: column "size": "0": must be greater than zero'],
    ['negative size', ROW('b, 206848, -2048, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6'),
      'p.csv:2: column "size": "-2048": must be greater than zero'],
    ['start inside the GPT header area', 'a, 0, 2048, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6',
      'p.csv:1: column "start": "0": must be at least 2048'],
    ['non-numeric start', ROW('b, 12Q, 2048, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6'),
      'p.csv:2: column "start": "12Q": expected a whole number of 512-byte sectors'],
    ['unknown type letter', ROW('b, 206848, 2048, X, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6'),
      'p.csv:2: column "type": "X": unknown partition type: expected U (EFI system), L (Linux), M (Microsoft basic data) or a type GUID'],
    ['malformed uuid', ROW('b, 206848, 2048, L, 6788E4CF-F456-104E-9A34'),
      'p.csv:2: column "uuid": "6788E4CF-F456-104E-9A34": expected a GUID like 7C0A626E-E5EA-E543-B5C5-300EB8304DB7'],
    ['uuid with a non-hex digit', ROW('b, 206848, 2048, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EEG'),
      'p.csv:2: column "uuid": "6788E4CF-F456-104E-9A34-A2C58CFB0EEG": expected a GUID'],
    ['empty name', ROW(' , 206848, 2048, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6'),
      'p.csv:2: column "name": "": a name is required'],
    ['name with a space', ROW('my part, 206848, 2048, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6'),
      'p.csv:2: column "name": "my part": expected letters, digits'],
    ['name too long for GPT', ROW(`${'n'.repeat(37)}, 206848, 2048, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6`),
      'longer than 36 characters'],
    ['too few columns', ROW('b, 206848, 2048'),
      'p.csv:2: expected the columns name,start,size,type,uuid,comment, found 3 field(s)'],
    ['duplicate name', ROW('esp, 206848, 2048, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6'),
      'p.csv:2: column "name": "esp" is already used on line 1'],
    ['duplicate uuid in another case', ROW('b, 206848, 2048, L, b78084e2-3363-1346-8c25-d426f26b8928'),
      'p.csv:2: column "uuid": "B78084E2-3363-1346-8C25-D426F26B8928" is already used on line 1'],
    ['overlap with the previous partition', ROW('b, 204800, 2048, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6'),
      'p.csv:2: column "start": "b" (sectors 204800-206847) overlaps "esp" (sectors 2048-206847, line 1)'],
    ['overlap listed out of order', `b, 4096, 2048, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6\n${ROW('').split('\n')[0]}`,
      'p.csv:2: column "start": "esp" (sectors 2048-206847) overlaps "b" (sectors 4096-6143, line 1)'],
    ['empty table', '# only a comment\n\n', 'p.csv: the table has no partitions'],
    ['an all-zero type GUID (an unused GPT entry)', ROW('b, 206848, 2048, 00000000-0000-0000-0000-000000000000, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6'),
      'p.csv:2: column "type": "00000000-0000-0000-0000-000000000000": the all-zero type GUID marks an unused GPT entry'],
    ['an all-zero partition GUID', ROW('b, 206848, 2048, L, 00000000-0000-0000-0000-000000000000'),
      'p.csv:2: column "uuid": "00000000-0000-0000-0000-000000000000": the all-zero GUID is no partition GUID'],
    ['a start near 2^53 bytes', ROW(`b, ${2 ** 44}, 2048, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6`),
      `p.csv:2: column "start": "${2 ** 44}": more than ${MAX_END_SECTOR}: exceeds the format's limit: an image holds at most 9007199253692416 bytes`],
    ['a size past 2^53 (not even a safe integer)', ROW('b, 206848, 9007199254740993, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6'),
      `p.csv:2: column "size": "9007199254740993": more than ${MAX_END_SECTOR}: exceeds the format's limit`],
    ['a start and size each within the limit but not their sum', ROW(`b, ${MAX_END_SECTOR - 2048}, 4096, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6`),
      `p.csv:2: column "size": partition "b" ends at sector ${MAX_END_SECTOR + 2048}, after sector ${MAX_END_SECTOR}: exceeds the format's limit`],
    ['control bytes of a binary file', ROW('\u0000\u001b[2J, 2048, 2048, L, \u0007'),
      'p.csv:2: column "name": "\\x00\\x1b[2J": expected letters'],
  ])('rejects %s', (_name, text, expected) => {
    expect(problemsOf(text)).toContain(expected);
  });

  it('rejects a table larger than the disk, showing both numbers', () => {
    expect(problemsOf(GOOD, 200 * 1024 * 1024)).toContain(
      'p.csv:4: column "size": partition "root" ends at sector 411648, beyond sector 407552: the disk of 209715200 bytes (200 MiB) keeps its last 1 MiB for the backup GPT',
    );
  });

  it('collects every problem of every row before failing', () => {
    const message = problemsOf(['a, 1, 2048, L, nope', 'b, 2048, 0, Z, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6'].join('\n'));
    expect(message).toMatch(/^4 problems found:/);
    for (const column of ['p.csv:1: column "start"', 'p.csv:1: column "uuid"', 'p.csv:2: column "size"', 'p.csv:2: column "type"']) {
      expect(message).toContain(column);
    }
  });

  it('never echoes a control byte of a binary table', () => {
    const message = problemsOf(`\u0000\u0001,\u007f\u009b,\u001b]0;x\u0007,\u2028,${'\u0000'.repeat(500)}`);
    expect(message).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(message).toContain('"\\x00\\x01"');
    expect(message).toContain('... (500 characters)');
  });

  it('reports 5000 rows on top of each other once per row, listing the first 50', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `p${i}, 2048, 204800, L, ${String(i).padStart(8, '0')}-0000-0000-0000-000000000001`);
    let error: unknown;
    try {
      parsePartitionTable('p.csv', rows.join('\n'));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    const { problems, message } = error as ValidationError;
    // One overlap per row but the first, plus the 128-entry limit: not 12.5 million pairs.
    expect(problems.filter((p) => p.message.includes('overlaps'))).toHaveLength(4999);
    expect(problems).toHaveLength(5000);
    expect(message.split('\n')).toHaveLength(1 + MAX_LISTED_PROBLEMS + 1);
    expect(message).toMatch(/^5000 problems found:\n/);
    expect(message).toMatch(/\n {2}\.\.\. and 4950 more$/);
  });

  it('names a missing file', async () => {
    await expect(readPartitionTable('/nonexistent/partitions.csv')).rejects.toThrow('/nonexistent/partitions.csv (partition table): cannot be read: no such file or directory');
  });
});
