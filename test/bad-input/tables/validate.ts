import type { BadInputTable } from '../case.ts';
import { notAFileCases, usageCases } from './common.ts';

const ESP = 'esp, 2048, 2048, U, B78084E2-3363-1346-8C25-D426F26B8928, esp';
const G2 = '7C0A626E-E5EA-E543-B5C5-300EB8304DB7';
const row = (fields: string) => `${ESP}\n${fields}\n`;
const VOL = 'config, 0, 1, SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm, config';

/** A partitions.csv with the given text, checked by `icos validate`. */
function table(name: string, text: string | Buffer, message: RegExp, extra: string[] = []) {
  return { name, args: ['validate', '--partitions', '{case}/p.csv', ...extra], files: { 'p.csv': text }, status: 1 as const, message };
}
function volumes(name: string, text: string, message: RegExp, extra: string[] = []) {
  const parts = 'esp, 2048, 2048, U, B78084E2-3363-1346-8C25-D426F26B8928, esp\nhostlvm, 4096, 20480, L, 7C0A626E-E5EA-E543-B5C5-300EB8304DB7, lvm\n';
  return { name, args: ['validate', '--partitions', '{case}/p.csv', '--volumes', '{case}/v.csv', ...extra], files: { 'p.csv': parts, 'v.csv': text }, status: 1 as const, message };
}

export const validateTable: BadInputTable = {
  command: 'validate',
  cases: [
    ...usageCases('validate', ['--partitions', '{parts.csv}'], '--partitions'),
    ...notAFileCases('--partitions', (v) => ['validate', '--partitions', v]),
    ...notAFileCases('--volumes', (v) => ['validate', '--partitions', '{parts.csv}', '--lvm-partition', 'A_root', '--volumes', v], { skip: ['a symlink to a FIFO'] }),
    table('an empty table', '', /p\.csv.*no partitions/),
    table('only comments', '# nothing\n\n', /p\.csv.*no partitions/),
    table('a binary file', Buffer.from('\x1b[31m\x00\x01\xff,\x07,\n', 'latin1'), /p\.csv:1/),
    table('unaligned start', row(`b, 4097, 2048, L, ${G2}`), /p\.csv:2: column "start".*multiple of 2048/),
    table('unaligned size', row(`b, 4096, 1000, L, ${G2}`), /p\.csv:2: column "size".*multiple of 2048/),
    table('zero size', row(`b, 4096, 0, L, ${G2}`), /p\.csv:2: column "size".*greater than zero/),
    table('negative size', row(`b, 4096, -2048, L, ${G2}`), /p\.csv:2: column "size"/),
    table('start in the GPT header', `a, 0, 2048, L, ${G2}\n`, /p\.csv:1: column "start".*at least 2048/),
    table('a start that is not a number', row(`b, 12Q, 2048, L, ${G2}`), /p\.csv:2: column "start": "12Q"/),
    table('a hex start', row(`b, 0x1000, 2048, L, ${G2}`), /p\.csv:2: column "start": "0x1000"/),
    table('a fractional size', row(`b, 4096, 2048.5, L, ${G2}`), /p\.csv:2: column "size": "2048.5"/),
    table('an exponent start', row(`b, 4e3, 2048, L, ${G2}`), /p\.csv:2: column "start": "4e3"/),
    table('a start near 2^53', row(`b, 9007199254740992, 2048, L, ${G2}`), /p\.csv:2: column "start"/),
    table('a start beyond 2^64 sectors', row(`b, 99999999999999999999999, 2048, L, ${G2}`), /p\.csv:2: column "start"/),
    table('a size near 2^53', row(`b, 4096, 9007199254740990, L, ${G2}`), /p\.csv:2: column "size"/),
    table('an unknown type letter', row(`b, 4096, 2048, X, ${G2}`), /p\.csv:2: column "type": "X"/),
    table('an all-zero type GUID (an unused GPT entry)', row(`b, 4096, 2048, 00000000-0000-0000-0000-000000000000, ${G2}`), /p\.csv:2: column "type".*00000000-0000-0000-0000-000000000000/),
    table('a type GUID with a bad digit', row(`b, 4096, 2048, 0FC63DAF-8483-4772-8E79-3D69D8477DEZ, ${G2}`), /p\.csv:2: column "type"/),
    table('a short uuid', row('b, 4096, 2048, L, 6788E4CF-F456-104E-9A34'), /p\.csv:2: column "uuid"/),
    table('a uuid without dashes', row('b, 4096, 2048, L, 6788E4CFF456104E9A34A2C58CFB0EE6'), /p\.csv:2: column "uuid"/),
    table('an all-zero uuid', row('b, 4096, 2048, L, 00000000-0000-0000-0000-000000000000'), /p\.csv:2: column "uuid"/),
    table('a uuid with braces', row('b, 4096, 2048, L, {6788E4CF-F456-104E-9A34-A2C58CFB0EE6}'), /p\.csv:2: column "uuid"/),
    table('an empty name', row(` , 4096, 2048, L, ${G2}`), /p\.csv:2: column "name"/),
    table('a name with a space', row(`my part, 4096, 2048, L, ${G2}`), /p\.csv:2: column "name": "my part"/),
    table('a name over 36 characters', row(`${'n'.repeat(37)}, 4096, 2048, L, ${G2}`), /p\.csv:2: column "name".*36/),
    table('a name with a non-ASCII letter', row(`café, 4096, 2048, L, ${G2}`), /p\.csv:2: column "name"/),
    table('a name with a control byte', row(`b\x1b[2J, 4096, 2048, L, ${G2}`), /p\.csv:2: column "name"/),
    table('too few columns', row('b, 4096, 2048'), /p\.csv:2: expected the columns/),
    table('a single column', row('b'), /p\.csv:2: expected the columns/),
    table('a duplicate name', row(`esp, 4096, 2048, L, ${G2}`), /p\.csv:2: column "name": "esp" is already used on line 1/),
    table('a duplicate uuid in lower case', row('b, 4096, 2048, L, b78084e2-3363-1346-8c25-d426f26b8928'), /p\.csv:2: column "uuid".*already used on line 1/),
    table('overlapping partitions', row(`b, 2048, 2048, L, ${G2}`), /p\.csv:2: column "start".*overlaps "esp"/),
    table('a partition inside another', `big, 2048, 20480, L, ${G2}\n${ESP.replace('2048, 2048', '4096, 2048')}\n`, /p\.csv:2.*overlaps "big"/),
    table('over 128 partitions (the GPT entry array)', Array.from({ length: 129 }, (_, i) =>
      `p${i}, ${2048 * (i + 1)}, 2048, L, ${(i + 1).toString(16).padStart(8, '0')}-0000-4000-8000-000000000001, x`).join('\n'), /p\.csv.*128/),
    table('5000 overlapping rows (the report must not grow with the square)', Array.from({ length: 5000 }, (_, i) =>
      `p${i}, 2048, 2048, L, ${(i + 1).toString(16).padStart(8, '0')}-0000-4000-8000-000000000001, x`).join('\n'), /p\.csv:\d+.*overlaps/),
    table('a table larger than --disk-size', `${ESP}\n`, /p\.csv:1: column "size".*beyond sector/, ['--disk-size', '1M']),
    table('a --disk-size that is no size', `${ESP}\n`, /--disk-size "big"/, ['--disk-size', 'big']),
    table('a --disk-size not a multiple of 512', `${ESP}\n`, /--disk-size.*512/, ['--disk-size', '10000001']),
    table('a negative --disk-size', `${ESP}\n`, /--disk-size "-1M"/, ['--disk-size=-1M']),
    table('a --disk-size over 2^64 bytes', `${ESP}\n`, /--disk-size "99999999T"/, ['--disk-size', '99999999T']),
    table('a CSV with a NUL byte in a field', row(`b\x00, 4096, 2048, L, ${G2}`), /p\.csv:2: column "name"/),
    volumes('volumes: an empty table', '', /v\.csv.*no volumes/),
    volumes('volumes: a malformed LVM id', `${VOL}\nx, 1, 1, SIs20R-l6gh`, /v\.csv:2: column "uuid"/),
    volumes('volumes: zero size', `${VOL}\nx, 1, 0, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x`, /v\.csv:2: column "size"/),
    volumes('volumes: a negative start', 'x, -1, 1, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x', /v\.csv:1: column "start"/),
    volumes('volumes: overlapping volumes', `${VOL}\nx, 0, 2, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x`, /v\.csv:2.*overlaps "config"/),
    volumes('volumes: a duplicate name', `${VOL}\nconfig, 1, 1, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x`, /v\.csv:2: column "name".*already used/),
    volumes('volumes: a duplicate id', `${VOL}\nx, 1, 1, SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm`, /v\.csv:2: column "uuid".*already used/),
    volumes('volumes: a type column', 'x, 0, 1, L, SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm', /v\.csv:1: column "uuid": "L"/),
    volumes('volumes: too few columns', 'x, 0', /v\.csv:1: expected the columns/),
    volumes('volumes: larger than the partition', 'x, 0, 100, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x', /v\.csv:1: column "size".*larger than partition "hostlvm"/),
    volumes('volumes: a start near 2^32 extents', 'x, 4294967296, 1, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x', /v\.csv:1: column "start"/),
    volumes('volumes: a start near 2^53', 'x, 9007199254740990, 1, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x', /v\.csv:1: column "start"/),
    volumes('volumes: an LV name LVM refuses', 'snapshot, 0, 1, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x', /v\.csv:1: column "name": "snapshot"/),
    volumes('volumes: an --lvm-partition not in the table', VOL, /--lvm-partition "nope"|"nope"/, ['--lvm-partition', 'nope']),
  ],
};
