import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { icosInProcess, runIcos } from '../../../test/support/tools.ts';
import type { Logger } from '../definitions.ts';
import { INTERNAL_ERROR_STATUS } from './internal-error.ts';
import { USAGE_STATUS } from './main.ts';

const TABLE = 'partitions/guestos/partitions.csv';
const DISK = ['disk', '--partitions', TABLE, '--out', '/nonexistent/disk.img'];
const NO_STACK = /\n\s+at /;

describe('usage errors: status 2, a message and the command\'s usage', () => {
  it.each([
    ['an unknown command', ['bogus'], 'icos: unknown command "bogus"\nusage: icos <command> [options]\n  commands: validate, layout, disk,'],
    ['no command', [], 'icos: Name a command: see icos --help\nusage: icos <command> [options]'],
    ['an unknown flag', [...DISK, '--bogus', '1'], 'icos: Unknown argument: bogus\nusage: icos disk --partitions <value> --out <value> [--part <value>...] [--expand <value>] [--populate-b]\n'],
    ['a missing required flag', ['disk', '--out', 'x.img'], 'icos: Missing required argument: partitions\nusage: icos disk --partitions'],
    ['a dotted flag (yargs would make it an object)', [...DISK, '--part.x', '1'], 'icos: Unknown argument: part.x\nusage: icos disk'],
    ['a yes/no flag given another value', [...DISK, '--populate-b=maybe'], 'icos: --populate-b "maybe": a yes/no flag, given alone or as =true or =false\nusage: icos disk'],
    ['a yes/no flag given a number', [...DISK, '--populate-b=1'], 'icos: --populate-b "1": a yes/no flag'],
    ['a negated yes/no flag given a value', [...DISK, '--no-populate-b=no'], 'icos: Unknown arguments: no-populate-b'],
    ['a repeated flag', [...DISK, '--expand', '1G', '--expand', '2G'], 'icos: --expand is given more than once ("1G", "2G"): give it once\nusage: icos disk'],
  ])('%s', async (_name, args, expected) => {
    const { code, stdout, stderr } = await icosInProcess(args);
    expect(stderr.startsWith(expected), stderr).toBe(true);
    expect(code).toBe(USAGE_STATUS);
    expect(stdout).toBe('');
    // Short: the command's synopsis and a pointer to --help, not the whole help text.
    expect(stderr.split('\n').length).toBeLessThanOrEqual(5);
    expect(stderr).not.toMatch(NO_STACK);
  });

  it('takes a yes/no flag alone, as =true or =false, and a value after --', async () => {
    for (const flag of ['--populate-b', '--populate-b=true', '--populate-b=false', '--no-populate-b']) {
      // Past the flag checks: the missing output directory is what stops it.
      const { code, stderr } = await icosInProcess([...DISK, flag]);
      expect(stderr).not.toContain('yes/no');
      expect(code).toBe(1);
    }
  });

  it('gives status 2 for a refused flag value, without the usage', async () => {
    const { code, stderr } = await icosInProcess([...DISK, '--part', 'esp']);
    expect(stderr).toBe('icos: --part "esp": expected NAME=PATH\n');
    expect(code).toBe(USAGE_STATUS);
  });

  it('exits 2 as a process too', () => {
    const result = runIcos(['disk', '--partitions', TABLE, '--part.x', '1']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage: icos disk');
    expect(result.stderr).not.toMatch(NO_STACK);
  });
});

describe('internal errors', () => {
  /** A logger that fails like a bug would: `validate` logs once the table is read. */
  const buggyLog: Logger = {
    info: () => {
      throw new TypeError("Cannot read properties of undefined (reading 'x')");
    },
    verbose: () => {},
    warn: () => {},
  };

  it('say so, with an issue-ready summary and the stack in a file', async () => {
    const { code, stderr } = await icosInProcess(['validate', '--partitions', TABLE], { log: buggyLog });
    expect(code).toBe(INTERNAL_ERROR_STATUS);
    const lines = stderr.split('\n');
    expect(lines[0]).toBe("icos: internal error (this is a bug): TypeError: Cannot read properties of undefined (reading 'x')");
    expect(stderr).toContain(`  command: icos validate --partitions ${TABLE}\n`);
    expect(stderr).toContain(`  inputs: ${TABLE} (${statSync(TABLE).size} bytes)\n`);
    expect(stderr).toContain(`  versions: icos ${JSON.parse(readFileSync('package.json', 'utf8')).version}, Node ${process.version}, ${process.platform} ${process.arch}\n`);
    expect(stderr).not.toMatch(NO_STACK);
    const file = /stack: in (\S+) \(or run again with --verbose\)/.exec(stderr)?.[1];
    expect(file).toBeDefined();
    expect(path.isAbsolute(file!)).toBe(true);
    expect(readFileSync(file!, 'utf8')).toMatch(/TypeError: Cannot read properties[^\n]*\n\s+at /);
    rmSync(file!);
  });

  it('print the stack under --verbose', async () => {
    const { code, stderr } = await icosInProcess(['validate', '--partitions', TABLE, '--verbose'], { log: buggyLog });
    expect(code).toBe(INTERNAL_ERROR_STATUS);
    expect(stderr).toContain('icos: internal error (this is a bug)');
    expect(stderr).toMatch(/stack:\nTypeError: [^\n]*\n\s+at /);
  });
});
