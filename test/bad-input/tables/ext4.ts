import type { BadInputCase, BadInputTable } from '../case.ts';
import { badOutCases, notAFileCases, usageCases } from './common.ts';

const GOOD = ['--out', '{out}/fs.img', '--size', '8M'];
const ext4 = (name: string, extra: string[], message: RegExp, files?: Record<string, string>): BadInputCase => ({
  name, args: ['ext4', ...(extra.some((a) => a.startsWith('--size')) ? GOOD.slice(0, 2) : GOOD), ...extra], status: 1, message, ...(files === undefined ? {} : { files }),
});
const src = (name: string, tar: string, message: RegExp, extra: string[] = []): BadInputCase => ext4(name, ['--src', `{${tar}}`, ...extra], message);

export const ext4Table: BadInputTable = {
  command: 'ext4',
  cases: [
    ...usageCases('ext4', GOOD, '--size'),
    ...notAFileCases('--src', (v) => ['ext4', ...GOOD, '--src', v]),
    ...notAFileCases('--file-contexts', (v) => ['ext4', ...GOOD, '--file-contexts', v], { skip: ['a symlink to a FIFO', 'a directory'] }),
    ...notAFileCases('--extra SRC', (v) => ['ext4', ...GOOD, '--extra', `${v}:/x:0644`], { skip: ['a symlink to a FIFO', 'missing'] }),
    ...badOutCases((out) => ['ext4', '--out', out, '--size', '8M']),
    ext4('a size that does not parse', ['--size', '8Q'], /--size "8Q"/),
    ext4('a size not 4 KiB-aligned', ['--size', '5001K'], /--size.*multiple of 4 KiB/),
    ext4('a zero size', ['--size', '0'], /--size/),
    ext4('a negative size', ['--size=-8M'], /--size "-8M"/),
    ext4('a size too small for ext4', ['--size', '4K'], /--size/),
    ext4('a size beyond the ext4 limit', ['--size', '2000P'], /--size/),
    ext4('a size beyond what the host file system holds (EFBIG)', ['--size', '100P'], /--size|fs\.img.*too large/),
    ext4('a label over 16 bytes', ['--label', 'L'.repeat(17)], /label.*17 bytes.*16 bytes/),
    ext4('a label of 9 two-byte characters (18 bytes)', ['--label', 'é'.repeat(9)], /label.*18 bytes.*16 bytes/),
    ext4('a label with a control byte', ['--label', 'a\x07b'], /--label/),
    src('a 0-byte source tar', 'zero.tar', /zero\.tar.*(empty|no entries|not a)/),
    src('a corrupt tar', 'garbage.tar', /garbage\.tar.*tar/),
    src('a truncated tar', 'truncated.tar', /truncated\.tar/),
    src('content larger than --size', 'big.tar', /content needs at least/, ['--size', '4M']),
    src('names that are not UTF-8 kept apart or refused', 'latin1.tar', /latin1\.tar.*(UTF-8|caf)/),
    src('a name component over 255 bytes', 'long-component.tar', /long-component\.tar.*255/),
    src('a member that climbs out with ..', 'dotdot.tar', /dotdot\.tar.*\.\./),
    src('an absent --subdir', 'tree.tar', /--subdir "\/nope" is not in the archive/, ['--subdir', '/nope']),
    src('a relative --subdir', 'tree.tar', /--subdir "boot"/, ['--subdir', 'boot']),
    src('a --subdir that is a file', 'tree.tar', /--subdir "\/etc\/hello"/, ['--subdir', '/etc/hello']),
    ext4('--subdir without --src', ['--subdir', '/boot'], /--subdir/),
    ext4('a relative --extra DST', ['--extra', '{hello.txt}:etc/x:0644'], /DST "etc\/x" must be an absolute/),
    ext4('a non-octal --extra MODE', ['--extra', '{hello.txt}:/x:0758'], /MODE "0758"/),
    ext4('a --extra without MODE', ['--extra', '{hello.txt}:/x'], /--extra/),
    ext4('a missing --extra SRC', ['--extra', '{case}/nope:/x:0644'], /nope.*no such file/),
    ext4('a --extra DST over 255 bytes', ['--extra', `{hello.txt}:/${'n'.repeat(256)}:0644`], /DST.*255/),
    ext4('the same --extra DST twice', ['--extra', '{hello.txt}:/x:0644', '--extra', '{hello.txt}:/x:0600'], /"\/x".*(twice|more than once)/),
    ext4('a --extra DST whose parent is missing', ['--src', '{tree.tar}', '--extra', '{hello.txt}:/usr/lib/x:0644'], /parent directory "\/usr\/lib"/),
    ext4('a --extra DST of /', ['--extra', '{hello.txt}:/:0644'], /DST "\/"/),
    ext4('a bad file_contexts line', ['--file-contexts', '{case}/fc'], /fc:2: file type "-q"/, { fc: '/etc(/.*)? system_u:object_r:etc_t:s0\n/x -q ctx\n' }),
    ext4('a bad file_contexts regex', ['--file-contexts', '{case}/fc'], /fc:1: regex "\/y\["/, { fc: '/y[ ctx\n' }),
    ext4('a binary file_contexts', ['--file-contexts', '{binary}'], /binary:1/),
    ext4('a --strip that is relative', ['--src', '{tree.tar}', '--strip', 'etc'], /--strip "etc"/),
  ],
};
