import type { BadInputCase, BadInputTable } from '../case.ts';
import { badOutCases, notAFileCases, usageCases } from './common.ts';

const GOOD = ['--out', '{out}/a.tar.zst', '--member', 'disk.img={img.1m}'];
const pack = (name: string, extra: string[], message: RegExp, more: Partial<BadInputCase> = {}): BadInputCase => ({
  name, args: ['pack', ...GOOD, ...extra], status: 1, message, ...more,
});
const reuse = (name: string, archive: string, message: RegExp): BadInputCase => pack(name, ['--reuse', `{${archive}}`], message);

export const packTable: BadInputTable = {
  command: 'pack',
  cases: [
    ...usageCases('pack', GOOD, '--member').slice(0, 3),
    ...usageCases('pack', GOOD, '--out').slice(2),
    ...notAFileCases('--member', (v) => ['pack', '--out', '{out}/a.tar.zst', '--member', `disk.img=${v}`]),
    ...notAFileCases('--reuse', (v) => ['pack', ...GOOD, '--reuse', v]),
    ...badOutCases((out) => ['pack', '--out', out, '--member', 'disk.img={img.1m}'], { skip: ['--out a directory', '--out /dev/null'] }),
    { name: '--out /dev/null', args: ['pack', '--out', '/dev/null', '--member', 'disk.img={img.1m}'], status: 1, message: /\/dev\/null/, process: true },
    { name: '--out a FIFO', args: ['pack', '--out', '{fifo}', '--member', 'disk.img={img.1m}'], status: 1, message: /fifo.*(FIFO|regular file)/, process: true },
    { name: 'an unknown extension', args: ['pack', '--out', '{out}/x.tar.gz', '--member', 'disk.img={img.1m}'], status: 1, message: /x\.tar\.gz.*unknown extension/ },
    pack('a duplicate member name', ['--member', 'disk.img={img.1m}'], /"disk\.img" is given more than once/),
    pack('a member name with a slash', ['--member', 'sub/a.img={img.1m}'], /member name "sub\/a\.img"/),
    pack('the member name ..', ['--member', '..={img.1m}'], /member name "\.\."/),
    pack('an empty member name', ['--member', '={img.1m}'], /expected NAME=PATH/),
    pack('a member name over 100 bytes', ['--member', `${'n'.repeat(256)}={img.1m}`], /member name.*100 bytes a tar header holds/),
    pack('a member name that is not valid UTF-8 in the tar', ['--member', 'a\x01b={img.1m}'], /member name/),
    reuse('a corrupt archive', 'corrupt.tzst', /corrupt\.tzst/),
    reuse('an archive whose index was rewritten', 'rewritten.tzst', /rewritten\.tzst/),
    reuse('an index with frames: 5', 'frames5.tzst', /frames5\.tzst.*frame index/),
    reuse('an index with frames: null', 'frames-null.tzst', /frames-null\.tzst.*frame index/),
    reuse('an index with a negative offset', 'negative-offset.tzst', /negative-offset\.tzst.*frame index/),
    reuse('an index longer than the archive', 'index-past-end.tzst', /index-past-end\.tzst.*frame index/),
    reuse('a file that is not an archive', 'text', /text.*not an archive made by icos/),
    reuse('a zstd file without an index', 'plain.zst', /plain\.zst.*not an archive made by icos/),
    reuse('an empty file', 'empty', /empty.*not an archive made by icos/),
    reuse('a plain tar', 'plain.tar', /plain\.tar.*not an archive made by icos/),
    pack('--reuse equal to --out', ['--reuse', '{out}/a.tar.zst'], /a\.tar\.zst/),
  ],
};
