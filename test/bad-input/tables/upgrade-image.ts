import path from 'node:path';
import { REPO_ROOT } from '../../../tools/src/lib/repo-root.ts';
import type { BadInputCase, BadInputTable } from '../case.ts';
import { badOutCases, notAFileCases, usageCases } from './common.ts';

const KEY_FILE = path.join(REPO_ROOT, 'keys/test-keys/release.key');
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const GOOD = ['--os', 'guestos', '--boot', '{img.1m}', '--root', '{img.1m}', '--version', '{case}/version.txt', '--key', KEY_FILE, '--out', '{out}/u.tar.zst'];
const withVersion = (name: string, text: string, message: RegExp): BadInputCase => ({
  name, args: ['upgrade-image', ...GOOD], files: { 'version.txt': text }, status: 1, message,
});
const replacing = (flag: string) => (value: string) => ['upgrade-image', ...GOOD.map((a, i) => (GOOD[i - 1] === flag ? value : a))];
const files = { 'version.txt': `${COMMIT}\n` };

export const upgradeImageTable: BadInputTable = {
  command: 'upgrade-image',
  cases: [
    ...usageCases('upgrade-image', GOOD, '--version').map((c) => ({ ...c, files })),
    ...notAFileCases('--version', replacing('--version')),
    ...notAFileCases('--boot', replacing('--boot'), { skip: ['a symlink to a FIFO', 'a directory'] }).map((c) => ({ ...c, files })),
    ...notAFileCases('--root', replacing('--root'), { skip: ['a symlink to a FIFO', '/dev/zero'] }).map((c) => ({ ...c, files })),
    ...badOutCases(replacing('--out'), { skip: ['--out a directory'] }).map((c) => ({ ...c, files })),
    withVersion('an empty version file', '', /version\.txt.*empty/),
    withVersion('two lines', `${COMMIT}\nsecond\n`, /version\.txt" line 2/),
    withVersion('a version with a space', 'release 1\n', /version\.txt" line 1: "release 1"/),
    withVersion('a version over 128 characters', `${'v'.repeat(129)}\n`, /version\.txt" line 1/),
    withVersion('a binary version file', '\x1b[2J\x00\x01\n', /version\.txt/),
    withVersion('a version with CRLF', `${COMMIT}\r\n`, /version\.txt/),
    withVersion('a huge version file', 'x'.repeat(2 * 1024 * 1024), /version\.txt/),
    { name: '--version /dev/null (a device, not a file)', args: replacing('--version')('/dev/null'), status: 1, message: /\/dev\/null.*(character device|regular file)/, process: true },
    { name: 'an unknown output extension', args: replacing('--out')('{out}/u.zst'), files, status: 1, message: /u\.zst.*unknown extension/ },
    { name: 'an OS name that is not one', args: replacing('--os')('../guestos'), files, status: 1, message: /option "os": an OS name/ },
    { name: 'a signing key that is no key', args: replacing('--key')('{case}/version.txt'), files, status: 1, message: /--key ".*version\.txt": not a PEM private key/ },
    { name: 'an RSA signing key', args: replacing('--key')(path.join(REPO_ROOT, 'keys/test-keys/db.key')), files, status: 1, message: /--key ".*db\.key": is a rsa key, expected Ed25519/ },
    ...notAFileCases('--key', replacing('--key'), { skip: ['a symlink to a FIFO'] }).map((c) => ({ ...c, files })),
    { name: 'a boot image not a multiple of 512', args: replacing('--boot')('{img.5000}'), files, status: 1, message: /img\.5000/ },
  ],
};
