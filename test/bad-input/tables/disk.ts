import type { BadInputCase, BadInputTable } from '../case.ts';
import { badOutCases, notAFileCases, usageCases } from './common.ts';

const GOOD = ['--partitions', '{parts.csv}', '--out', '{out}/disk.img'];
const disk = (name: string, extra: string[], message: RegExp, files?: Record<string, string>): BadInputCase => ({
  name, args: ['disk', ...GOOD, ...extra], status: 1, message, ...(files === undefined ? {} : { files }),
});
const withTable = (name: string, csv: string, message: RegExp): BadInputCase => ({
  name, args: ['disk', '--partitions', '{case}/p.csv', '--out', '{out}/disk.img'], files: { 'p.csv': csv }, status: 1, message,
});
const G2 = '7C0A626E-E5EA-E543-B5C5-300EB8304DB7';

export const diskTable: BadInputTable = {
  command: 'disk',
  cases: [
    ...usageCases('disk', GOOD, '--partitions'),
    ...usageCases('disk', GOOD, '--out').slice(2),
    { name: 'a dotted --part', args: ['disk', ...GOOD, '--part.x', '1'], status: 2, message: /part\.x/ },
    ...notAFileCases('--partitions', (v) => ['disk', '--partitions', v, '--out', '{out}/disk.img'], { skip: ['a symlink to a FIFO'] }),
    ...notAFileCases('--part esp=', (v) => ['disk', ...GOOD, '--part', `esp=${v}`]),
    ...badOutCases((out) => ['disk', '--partitions', '{parts.csv}', '--out', out]),
    { name: '--out the /dev/full device', args: ['disk', '--partitions', '{parts.csv}', '--out', '/dev/full'], status: 1, message: /\/dev\/full.*(character device|regular file)/, process: true },
    { name: '--out a FIFO', args: ['disk', '--partitions', '{parts.csv}', '--out', '{fifo}'], status: 1, message: /fifo.*(FIFO|regular file)/, process: true },
    disk('an image larger than its partition', ['--part', 'esp={img.3m}'], /img\.3m.*larger than partition "esp"/),
    disk('a partition not in the table', ['--part', 'root={img.1m}'], /--part root=.*no partition "root"/),
    disk('a malformed --part', ['--part', 'esp'], /--part "esp": expected NAME=PATH/),
    disk('an empty --part image path', ['--part', 'esp='], /--part "esp=": expected NAME=PATH/),
    disk('the same partition twice', ['--part', 'esp={img.1m}', '--part', 'esp={img.1m}'], /"esp" is given more than once/),
    disk('--expand that does not parse', ['--expand', '50X'], /--expand "50X"/),
    disk('--expand not a multiple of 512', ['--expand', '10000001'], /--expand.*512/),
    disk('--expand smaller than the table', ['--expand', '2M'], /beyond sector|--expand/),
    disk('--expand negative', ['--expand=-8M'], /--expand "-8M"/),
    disk('--expand zero', ['--expand', '0'], /--expand/),
    disk('--expand beyond 2^64 bytes', ['--expand', '99999999999T'], /--expand "99999999999T"/),
    disk('--expand beyond what the host file system holds (EFBIG)', ['--expand', '1000000T'], /--expand|disk\.img.*too large/),
    disk('a B slot without --populate-b', ['--part', 'B_root={img.1m}'], /no partition "B_root" in the table|--populate-b/),
    { name: '--populate-b=maybe is a bad command line', args: ['disk', ...GOOD, '--populate-b=maybe'], status: 2, message: /populate-b/ },
    withTable('a start near 2^53 sectors', `big, 9007199254740000, 2048, L, ${G2}\n`, /p\.csv:1: column "start"/),
    withTable('a start beyond the GPT limit of 2^64 bytes', `big, 36028797018963968, 2048, L, ${G2}\n`, /p\.csv:1: column "start"/),
    withTable('an end beyond what the host file system holds', `big, 2048, 35184372088832, L, ${G2}\n`, /p\.csv:1|disk\.img.*too large/),
    withTable('an all-zero type GUID', `b, 2048, 2048, 00000000-0000-0000-0000-000000000000, ${G2}\n`, /p\.csv:1: column "type"/),
    withTable('overlapping partitions', `a, 2048, 4096, L, ${G2}\nb, 4096, 2048, L, B78084E2-3363-1346-8C25-D426F26B8928\n`, /p\.csv:2.*overlaps "a"/),
    withTable('a binary table', '\x1b[31m\x00\x01\xff\n', /p\.csv:1/),
    withTable('misaligned partition', `a, 2049, 2048, L, ${G2}\n`, /p\.csv:1: column "start"/),
  ],
};
