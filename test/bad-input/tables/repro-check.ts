import { fileURLToPath } from 'node:url';
import type { BadInputTable } from '../case.ts';

/** A folder of this checkout: scratch there would become part of the workspace it builds. */
const INSIDE_CHECKOUT = fileURLToPath(new URL('../../../tools', import.meta.url));

/** Refused before any Bazel server starts: nothing is built, no scratch is made. */
export const reproCheckTable: BadInputTable = {
  command: 'repro-check',
  cases: [
    { name: 'no pattern', args: ['repro-check'], status: 2, message: /patterns/ },
    { name: 'an unknown flag', args: ['repro-check', '//x:y', '--bogus', '1'], status: 2, message: /bogus[\s\S]*(Options:|--help)/ },
    { name: '--scratch missing', args: ['repro-check', '//x:y', '--scratch', '{case}/missing'], status: 2, message: /--scratch ".*missing": no such file/ },
    { name: '--scratch a file', args: ['repro-check', '//x:y', '--scratch', '{case}/f'], files: { f: 'x' }, status: 2, message: /--scratch ".*\/f": not a directory/ },
    { name: '--scratch inside the checkout', args: ['repro-check', '//x:y', '--scratch', INSIDE_CHECKOUT], status: 2, message: /--scratch ".*tools": inside the checkout/ },
  ],
};
