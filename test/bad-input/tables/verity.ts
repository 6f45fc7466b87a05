import type { BadInputCase, BadInputTable } from '../case.ts';
import { badOutCases, notAFileCases, usageCases } from './common.ts';

const UUID = '1736291d-aceb-42d7-b044-43ee31d86cd4';
const GOOD = ['--image', '{img.8k}', '--out', '{out}/v.img', '--hash-offset', '8192', '--salt', '00', '--uuid', UUID, '--root-hash-out', '{out}/root-hash'];
function verity(name: string, overrides: Record<string, string>, message: RegExp, extra: Partial<BadInputCase> = {}): BadInputCase {
  const args = [...GOOD];
  for (const [flag, value] of Object.entries(overrides)) args[args.indexOf(flag) + 1] = value;
  return { name, args: ['verity', ...args], status: 1, message, ...extra };
}

export const verityTable: BadInputTable = {
  command: 'verity',
  cases: [
    ...usageCases('verity', GOOD, '--image'),
    ...usageCases('verity', GOOD, '--root-hash-out').slice(2),
    ...notAFileCases('--image', (v) => ['verity', ...GOOD.map((a) => (a === '{img.8k}' ? v : a))]),
    ...badOutCases((out) => ['verity', ...GOOD.map((a) => (a === '{out}/v.img' ? out : a))]),
    verity('an image not a multiple of 4096', { '--image': '{img.5000}' }, /img\.5000.*multiple of the 4096/),
    verity('an empty image', { '--image': '{empty}' }, /empty.*at least one 4096-byte/),
    verity('a hash offset not a multiple of 4096', { '--hash-offset': '8704' }, /--hash-offset 8704/),
    verity('a hash offset inside the data', { '--hash-offset': '4096' }, /--hash-offset.*overlap the data/),
    verity('a hash offset that is no number', { '--hash-offset': 'end' }, /--hash-offset "end"/),
    verity('a negative hash offset', { '--hash-offset': '-4096' }, /--hash-offset/),
    verity('a hash offset near 2^53', { '--hash-offset': '9007199254740992' }, /--hash-offset/),
    verity('a hash offset past the host file size limit', { '--hash-offset': '1000000T' }, /--hash-offset|v\.img.*too large/),
    verity('a salt that is not hex', { '--salt': 'salty' }, /--salt "salty"/),
    verity('a salt of odd length', { '--salt': 'abc' }, /--salt "abc"/),
    verity('a salt over 256 bytes', { '--salt': 'ab'.repeat(257) }, /--salt is 257 bytes/),
    verity('an empty salt', { '--salt': '' }, /--salt/),
    verity('a uuid that is not a UUID', { '--uuid': '1736291d-aceb-42d7-b044' }, /--uuid "1736291d-aceb-42d7-b044"/),
    verity('an empty uuid', { '--uuid': '' }, /--uuid/),
    verity('--out equal to --image', { '--image': '{case}/in.img', '--out': '{case}/in.img' }, /--out.*--image|in\.img/, { files: { 'in.img': 'v'.repeat(8192) } }),
    verity('--root-hash-out equal to --out', { '--root-hash-out': '{out}/v.img' }, /--root-hash-out.*--out|v\.img/),
    verity('--root-hash-out in a missing directory (no half output: not even --out)', { '--root-hash-out': '{out}/no/such/root-hash' }, /no\/such.*no such file/),
    verity('--out failing leaves no --root-hash-out', { '--out': '{out}/no/such/v.img' }, /no\/such.*no such file/),
    verity('--root-hash-out a directory', { '--root-hash-out': '{dir}' }, /dir.*directory/),
    { ...verity('--root-hash-out /dev/null', { '--root-hash-out': '/dev/null' }, /\/dev\/null.*(character device|regular file)/), process: true },
  ],
};
