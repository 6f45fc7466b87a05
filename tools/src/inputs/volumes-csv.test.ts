import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.ts';
import { MAX_LVM_END_EXTENT } from './limits.ts';
import { lvmImageSize, parseVolumeTable, readVolumeTable } from './volumes-csv.ts';

const FIRST = 'config, 0, 25, SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm, config';

function problemsOf(text: string, pvSize?: number): string {
  try {
    parseVolumeTable('v.csv', text, { pvSize, pvName: 'hostlvm' });
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).message;
  }
  throw new Error('expected a ValidationError');
}

describe('parseVolumeTable', () => {
  it('reads the HostOS table and sizes its LVM image as IC-OS does', async () => {
    const table = await readVolumeTable('partitions/hostos/volumes.csv');
    expect(table.volumes.map((v) => [v.name, v.start, v.size])).toEqual([
      ['config', 0, 25], ['A_boot', 25, 256], ['A_root', 281, 2560], ['A_var', 2841, 2560],
      ['B_boot', 5401, 256], ['B_root', 5657, 2560], ['B_var', 8217, 2560], ['guestos', 10777, 12800],
    ]);
    expect(table.volumes[0]?.uuid).toBe('SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm');
    expect(lvmImageSize(table)).toBe(98_890_153_984);
  });

  it.each([
    ['malformed LVM id', `${FIRST}\nx, 25, 1, SIs20R-l6gh-2Rli`,
      'v.csv:2: column "uuid": "SIs20R-l6gh-2Rli": expected an LVM id'],
    ['LVM id with a forbidden character', `${FIRST}\nx, 25, 1, SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JP@m`,
      'v.csv:2: column "uuid": "SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JP@m": expected an LVM id'],
    ['zero size', `${FIRST}\nx, 25, 0, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x`,
      'v.csv:2: column "size": "0": must be greater than zero'],
    ['negative start', `x, -1, 1, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x`,
      'v.csv:1: column "start": "-1": must be at least 0'],
    ['overlapping volumes', `${FIRST}\nx, 24, 2, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x`,
      'v.csv:2: column "start": "x" (extents 24-25) overlaps "config" (extents 0-24, line 1)'],
    ['duplicate LV name', `${FIRST}\nconfig, 25, 1, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x`,
      'v.csv:2: column "name": "config" is already used on line 1'],
    ['duplicate LV id', `${FIRST}\nx, 25, 1, SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm`,
      'v.csv:2: column "uuid": "SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm" is already used on line 1'],
    ['a type column that volumes.csv does not have', `x, 0, 1, L, SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm`,
      'v.csv:1: column "uuid": "L": expected an LVM id'],
    ['too few columns', `x, 0`, 'v.csv:1: expected the columns name,start,size,uuid,comment, found 2 field(s)'],
    ['no rows', '# nothing\n', 'v.csv: the table has no volumes'],
    ['a start of 2^32 extents', `x, ${2 ** 32}, 1, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x`,
      `v.csv:1: column "start": "${2 ** 32}": more than ${MAX_LVM_END_EXTENT - 1}: exceeds the format's limit: volumes end by extent ${MAX_LVM_END_EXTENT}: extent counts are 32-bit`],
    ['a size near 2^53 bytes', `x, 0, ${2 ** 31}, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x`,
      `v.csv:1: column "size": "${2 ** 31}": more than ${MAX_LVM_END_EXTENT}: exceeds the format's limit`],
    ['a start and size each within the limit but not their sum', `x, ${2 ** 30}, ${2 ** 30}, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x`,
      `v.csv:1: column "size": volume "x" ends at extent ${2 ** 31}: exceeds the format's limit`],
    ['an LV name lvm2 reserves', `snapshot1, 0, 1, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x`,
      'v.csv:1: column "name": "snapshot1": LV name must not start with "snapshot" or "pvmove" (reserved by lvm2)'],
    ['an escape sequence in a name', `\u001b[31mred, 0, 1, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x`,
      'v.csv:1: column "name": "\\x1b[31mred": expected letters'],
  ])('rejects %s', (_name, text, expected) => {
    expect(problemsOf(text)).toContain(expected);
  });

  it('reports 5000 overlapping volumes once per row, listing the first 50', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `v${i}, 0, 100, ${String(i).padStart(6, '0')}-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x`);
    const message = problemsOf(rows.join('\n'), 64 * 1024 * 1024);
    expect(message).toMatch(/^5000 problems found:\n/);
    expect(message).toMatch(/\n {2}\.\.\. and 4950 more$/);
  });

  it('rejects volumes that do not fit their partition, showing both sizes', () => {
    expect(problemsOf(FIRST, 64 * 1024 * 1024)).toContain(
      'v.csv:1: column "size": the volumes need an LVM image of 105906176 bytes (101 MiB) (1 MiB + 25 extents), larger than partition "hostlvm" of 67108864 bytes (64 MiB)',
    );
  });
});
