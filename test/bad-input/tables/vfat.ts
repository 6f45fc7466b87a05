import type { BadInputCase, BadInputTable } from '../case.ts';
import { badOutCases, notAFileCases, usageCases } from './common.ts';

const GOOD = ['--out', '{out}/fat.img', '--size', '8M'];
const vfat = (name: string, extra: string[], message: RegExp): BadInputCase => ({ name, args: ['vfat', ...(extra.some((a) => a.startsWith('--size')) ? GOOD.slice(0, 2) : GOOD), ...extra], status: 1, message });

export const vfatTable: BadInputTable = {
  command: 'vfat',
  cases: [
    ...usageCases('vfat', GOOD, '--size'),
    ...notAFileCases('--src', (v) => ['vfat', ...GOOD, '--src', v], { skip: ['a symlink to a FIFO', '/dev/zero'] }),
    ...badOutCases((out) => ['vfat', '--out', out, '--size', '8M'], { skip: ['--out in a missing directory', '--out /dev/null'] }),
    vfat('a size that does not parse', ['--size', 'lots'], /--size "lots"/),
    vfat('a size not a multiple of 512', ['--size', '1000001'], /--size.*512|--size.*multiple/),
    vfat('a zero size', ['--size', '0'], /--size/),
    vfat('a size beyond FAT32', ['--size', '4T'], /--size/),
    vfat('--fat32 too small for the FAT32 minimum cluster count', ['--size', '8M', '--fat32'], /--fat32.*(cluster|at least)|--size.*FAT32/),
    vfat('a lower-case label', ['--label', 'config'], /FAT labels are 1 to 11 characters/),
    vfat('a label of 12 characters', ['--label', 'ABCDEFGHIJKL'], /--label|FAT labels/),
    vfat('an empty label', ['--label', ''], /--label|FAT labels/),
    vfat('a symlink in the tar', ['--src', '{symlink.tar}'], /symlink\.tar.*symlink/),
    vfat('a FIFO in the tar', ['--src', '{fifo.tar}'], /fifo\.tar.*fifo/),
    vfat('a 0-byte tar', ['--src', '{zero.tar}'], /zero\.tar/),
    vfat('a corrupt tar', ['--src', '{garbage.tar}'], /garbage\.tar.*tar/),
    vfat('a truncated tar', ['--src', '{truncated.tar}'], /truncated\.tar/),
    vfat('names that are not UTF-8 (FAT cannot keep the bytes)', ['--src', '{latin1.tar}'], /latin1\.tar.*(UTF-8|caf)/),
    vfat('a name component over 255 bytes', ['--src', '{long-component.tar}'], /long-component\.tar.*255/),
    vfat('content larger than --size', ['--src', '{big.tar}', '--size', '1M'], /content needs at least/),
    vfat('an absent --subdir', ['--src', '{tree.tar}', '--subdir', '/nope'], /--subdir "\/nope" is not in the archive/),
    vfat('a relative --extra DST', ['--extra', '{hello.txt}:x:0644'], /DST "x"/),
    vfat('an --extra DST with a character FAT forbids', ['--extra', '{hello.txt}:/a*b:0644'], /"\/a\*b"/),
    vfat('the same --extra DST twice', ['--extra', '{hello.txt}:/x:0644', '--extra', '{hello.txt}:/x:0644'], /"\/x".*(twice|more than once)/),
    vfat('two --extra DSTs that differ only in case', ['--extra', '{hello.txt}:/x:0644', '--extra', '{hello.txt}:/X:0644'], /differ only in case/),
    vfat('a missing --extra SRC', ['--extra', '{case}/nope:/x:0644'], /nope.*no such file/),
  ],
};
