import type { BadInputCase, BadInputTable } from '../case.ts';
import { badOutCases, notAFileCases, usageCases } from './common.ts';

const GOOD = ['--out', '{out}/fs.img', '--base', '{ext4}'];
const inject = (name: string, extra: string[], message: RegExp): BadInputCase => ({ name, args: ['ext4-inject', ...GOOD, ...extra], status: 1, message });

export const ext4InjectTable: BadInputTable = {
  command: 'ext4-inject',
  cases: [
    ...usageCases('ext4-inject', GOOD, '--base'),
    ...notAFileCases('--base', (v) => ['ext4-inject', '--out', '{out}/fs.img', '--base', v]),
    ...badOutCases((out) => ['ext4-inject', '--out', out, '--base', '{ext4}'], { skip: ['--out empty'] }),
    { name: 'a base that is not ext4', args: ['ext4-inject', '--out', '{out}/fs.img', '--base', '{img.1m}'], status: 1, message: /img\.1m.*ext4/ },
    { name: 'an empty base', args: ['ext4-inject', '--out', '{out}/fs.img', '--base', '{empty}'], status: 1, message: /empty.*ext4|empty/ },
    { name: '--out equal to --base', args: ['ext4-inject', '--out', '{case}/base.img', '--base', '{case}/base.img'], files: { 'base.img': 'x'.repeat(4096) }, status: 1, message: /base\.img/ },
    inject('a relative --extra DST', ['--extra', '{hello.txt}:x:0644'], /DST "x" must be an absolute/),
    inject('a bad --extra MODE', ['--extra', '{hello.txt}:/x:rw'], /MODE "rw"/),
    inject('a missing --extra SRC', ['--extra', '{case}/nope:/x:0644'], /nope.*no such file/),
    { ...inject('a FIFO as --extra SRC', ['--extra', '{fifo}:/x:0644'], /fifo.*FIFO/), process: true },
    inject('a directory as --extra SRC', ['--extra', '{dir}:/x:0644'], /dir.*directory/),
    inject('a --extra DST over 255 bytes', ['--extra', `{hello.txt}:/${'n'.repeat(256)}:0644`], /DST.*255/),
    inject('the same --extra DST twice', ['--extra', '{hello.txt}:/x:0644', '--extra', '{hello.txt}:/x:0644'], /"\/x".*(twice|more than once)/),
    inject('a --extra with too many colons', ['--extra', '{hello.txt}:/x:0644:9'], /--extra/),
    inject('a bad file_contexts', ['--file-contexts', '{binary}'], /binary:1/),
  ],
};
