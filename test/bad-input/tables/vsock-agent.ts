import type { BadInputCase, BadInputTable } from '../case.ts';

const agent = (name: string, args: string[], message: RegExp, status: 1 | 2 = 2): BadInputCase => ({ name, args: ['vsock-agent', ...args], status, message });

export const vsockAgentTable: BadInputTable = {
  command: 'vsock-agent',
  cases: [
    agent('neither --stdio nor --unix', [], /--stdio and --unix/),
    agent('both --stdio and --unix', ['--stdio', '--unix', '{out}/a.sock'], /--stdio and --unix/),
    agent('an unknown flag', ['--stdio', '--bogus'], /bogus[\s\S]*(Options:|--help)/),
    agent('a dotted flag', ['--stdio', '--unix.x', '1'], /unix\.x/),
    agent('a guest CID that is no number', ['--stdio', '--guest-cid', 'three'], /--guest-cid "three"/, 1),
    agent('a peer CID over 32 bits', ['--stdio', '--peer-cid', '4294967296'], /--peer-cid/, 1),
    agent('a negative guest CID', ['--stdio', '--guest-cid', '-1'], /--guest-cid/, 1),
    { ...agent('--unix in a missing directory', ['--unix', '{out}/no/such/a.sock'], /no\/such/, 1), process: true },
    { ...agent('--unix over the 108-byte socket path limit', ['--unix', `{out}/${'s'.repeat(120)}.sock`], /--unix.*(108|long)/, 1), process: true },
    agent('--guest-cid given twice', ['--stdio', '--guest-cid', '3', '--guest-cid', '4'], /--guest-cid is given more than once/),
  ],
};
