import type { BadInputCase, BadInputTable } from '../case.ts';
import { badOutCases, notAFileCases, usageCases } from './common.ts';

const VG = 'SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm';
const PV = 'RM99J5-B2t1-JU3l-HNco-J2f2-1808-eJGo3s';
const ids = ['--vg-name', 'hostlvm', '--vg-uuid', VG, '--pv-uuid', PV];
const GOOD = ['--volumes', '{vols.csv}', ...ids, '--out', '{out}/lvm.img'];
const lvm = (name: string, extra: string[], message: RegExp): BadInputCase => ({ name, args: ['lvm', ...GOOD, ...extra], status: 1, message });
const override = (name: string, flag: string, value: string, message: RegExp): BadInputCase => {
  const args = [...GOOD];
  args[args.indexOf(flag) + 1] = value;
  return { name, args: ['lvm', ...args], status: 1, message };
};
const withTable = (name: string, csv: string, message: RegExp): BadInputCase => ({
  name, args: ['lvm', '--volumes', '{case}/v.csv', ...ids, '--out', '{out}/lvm.img'], files: { 'v.csv': csv }, status: 1, message,
});

export const lvmTable: BadInputTable = {
  command: 'lvm',
  cases: [
    ...usageCases('lvm', GOOD, '--volumes'),
    ...usageCases('lvm', GOOD, '--vg-uuid').slice(2),
    ...notAFileCases('--volumes', (v) => ['lvm', '--volumes', v, ...ids, '--out', '{out}/lvm.img'], { skip: ['a symlink to a FIFO'] }),
    ...notAFileCases('--volume A_boot=', (v) => ['lvm', ...GOOD, '--volume', `A_boot=${v}`], { skip: ['a symlink to a FIFO'] }),
    ...badOutCases((out) => ['lvm', '--volumes', '{vols.csv}', ...ids, '--out', out], { skip: ['--out in a missing directory'] }),
    override('a bad VG uuid', '--vg-uuid', 'not-an-id', /--vg-uuid "not-an-id": expected an LVM id/),
    override('a bad PV uuid', '--pv-uuid', `${PV}x`, /--pv-uuid ".*": expected an LVM id/),
    override('the same VG and PV uuid', '--pv-uuid', VG, /--pv-uuid|--vg-uuid/),
    override('a VG name with a slash', '--vg-name', 'host/lvm', /--vg-name "host\/lvm"/),
    override('an empty VG name', '--vg-name', '', /--vg-name/),
    override('a VG name of 200 characters', '--vg-name', 'v'.repeat(200), /--vg-name/),
    override('the VG name ..', '--vg-name', '..', /--vg-name "\.\."/),
    lvm('an unknown LV name', ['--volume', 'B_boot={img.1m}'], /"B_boot".*not in the table/),
    lvm('an image larger than its LV', ['--volume', 'config={img.101m-sparse}'], /img\.101m-sparse.*larger than volume "config"/),
    lvm('a malformed --volume', ['--volume', 'config'], /--volume "config": expected NAME=PATH/),
    lvm('the same volume twice', ['--volume', 'config={img.1m}', '--volume', 'config={img.1m}'], /"config" is given more than once/),
    withTable('a start near 2^32 extents', 'x, 4294967290, 10, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x\n', /v\.csv:1: column "start"/),
    withTable('a start near 2^53 extents', 'x, 9007199254740000, 10, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x\n', /v\.csv:1: column "start"/),
    withTable('a size near 2^53 extents', 'x, 0, 9007199254740000, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x\n', /v\.csv:1: column "size"/),
    withTable('volumes beyond the host file size limit', 'x, 0, 8000000000, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x\n', /v\.csv:1|lvm\.img.*too large/),
    withTable('overlapping volumes', 'a, 0, 2, Hq7Zt4-c2Lm-9VxR-pN3e-Wk8s-Jd5f-Yb6gUa\nb, 1, 1, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x\n', /v\.csv:2.*overlaps "a"/),
    withTable('an LV id equal to the VG id', `a, 0, 1, ${VG}\n`, /v\.csv:1: column "uuid"|--vg-uuid/),
    withTable('a binary table', '\x1b]0;title\x07\x00\xff\n', /v\.csv:1/),
    withTable('an empty table', '', /v\.csv.*no volumes/),
  ],
};
