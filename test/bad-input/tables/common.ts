import type { BadInputCase } from '../case.ts';

/**
 * Case makers shared by the tables: bad command lines (status 2) and a path that is not the
 * regular file a flag needs. `args(value)` is the whole command line with the flag's value.
 */

/** Bad command lines of a command whose good line is `good` and whose first required flag is `required`. */
export function usageCases(command: string, good: string[], required: string): BadInputCase[] {
  const without = good.flatMap((arg, i) => (arg === required || good[i - 1] === required ? [] : [arg]));
  const given = good[good.indexOf(required) + 1]!;
  return [
    { name: 'an unknown flag', args: [command, ...good, '--bogus', '1'], status: 2, message: /bogus[\s\S]*(Options:|--help)/ },
    { name: 'a dotted flag', args: [command, ...good, `${required}.x`, '1'], status: 2, message: new RegExp(`${required.slice(2)}\\.x`) },
    { name: `no ${required}`, args: [command, ...without], status: 2, message: new RegExp(`${required.slice(2)}`) },
    { name: `${required} given twice`, args: [command, ...good, required, given], status: 2, message: new RegExp(`${required} is given more than once`) },
  ];
}

/**
 * A flag given a path that is missing, a directory, a FIFO, a character device (reading it never
 * ends or gives nothing) or a symlink to a FIFO: each refused with the path and what it is.
 */
export function notAFileCases(flag: string, args: (value: string) => string[], options: { skip?: string[] } = {}): BadInputCase[] {
  const all: BadInputCase[] = [
    { name: `${flag} missing`, args: args('{case}/missing-input'), status: 1, message: /missing-input.*no such file/ },
    { name: `${flag} a directory`, args: args('{dir}'), status: 1, message: /fixtures\/dir.*directory/ },
    { name: `${flag} a FIFO`, args: args('{fifo}'), status: 1, message: /fixtures\/fifo.*FIFO/, process: true },
    { name: `${flag} /dev/zero`, args: args('{devzero}'), status: 1, message: /\/dev\/zero.*(character device|regular file)/, process: true },
    { name: `${flag} a symlink to a FIFO`, args: args('{symlink-to-fifo}'), status: 1, message: /symlink-to-fifo.*FIFO/, process: true },
  ];
  return all.filter((c) => !options.skip?.some((s) => c.name.endsWith(s)));
}

/** An --out that is not replaceable (a device, a directory, a FIFO) or cannot be created. */
export function badOutCases(args: (out: string) => string[], options: { skip?: string[] } = {}): BadInputCase[] {
  const all: BadInputCase[] = [
    { name: '--out /dev/null', args: args('/dev/null'), status: 1, message: /\/dev\/null.*(character device|regular file)/, process: true },
    { name: '--out a directory', args: args('{out}'), status: 1, message: /out.*directory/ },
    { name: '--out empty', args: args(''), status: 1, message: /(--out|output) ""/ },
    { name: '--out in a missing directory', args: args('{out}/no/such/dir/x.tar'), status: 1, message: /no\/such\/dir.*no such file/ },
  ];
  return all.filter((c) => !options.skip?.some((s) => c.name.endsWith(s)));
}
