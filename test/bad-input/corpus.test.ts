import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../tools/src/cli/commands/registry.ts';
import { ICOS_BIN, icosInProcess, useTempDir, type IcosRun } from '../support/tools.ts';
import type { BadInputCase } from './case.ts';
import { FIXTURE_NAMES, Fixtures } from './fixtures.ts';
import { TABLES } from './tables/index.ts';

/**
 * The bad-input corpus (issue 13): every case of every table runs icos, which must exit with the
 * case's status and message, print no stack trace and no raw control bytes, leave nothing at or
 * beside --out nor in its own TMPDIR, and leave its input files as they were.
 * BAD_INPUT_REPORT=FILE appends one JSON line per failed case (command, args, what icos did).
 */

const { dir: root } = useTempDir('bad-input');
const fixtures = new Fixtures(path.join(root, 'fixtures'));
mkdirSync(fixtures.dir);

/** Long enough for a loaded machine to start icos from source; a hang is what exceeds it. */
const PROCESS_TIMEOUT_MS = 45_000;

let caseCounter = 0;

interface CaseDirs {
  out: string;
  case: string;
  tmp: string;
}

async function fill(text: string, dirs: CaseDirs): Promise<string> {
  let result = text;
  for (const match of text.matchAll(/\{([\w.-]+)\}/g)) {
    const name = match[1]!;
    const value = name in dirs ? dirs[name as keyof CaseDirs] : FIXTURE_NAMES.has(name) ? await fixtures.need(name) : undefined;
    if (value !== undefined) result = result.replace(match[0], value);
  }
  return result;
}

function runProcess(args: readonly string[], env: NodeJS.ProcessEnv): Promise<IcosRun & { timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ICOS_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, PROCESS_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === null ? -1 : 128), stdout, stderr, timedOut });
    });
  });
}

async function runInProcess(args: readonly string[], tmp: string): Promise<IcosRun> {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    return await icosInProcess(args);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}

function report(command: string, testCase: BadInputCase, args: readonly string[], run: IcosRun, leftovers: string[]): void {
  const file = process.env.BAD_INPUT_REPORT;
  if (file === undefined) return;
  appendFileSync(file, `${JSON.stringify({ command, name: testCase.name, args, code: run.code, stderr: run.stderr.slice(0, 2000), leftovers })}\n`);
}

async function runCase(command: string, testCase: BadInputCase): Promise<void> {
  caseCounter += 1;
  const base = path.join(root, `case-${caseCounter}`);
  const dirs: CaseDirs = { out: path.join(base, 'out'), case: path.join(base, 'in'), tmp: path.join(base, 'tmp') };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  const inputs = new Map<string, Buffer>();
  for (const [name, content] of Object.entries(testCase.files ?? {})) {
    const file = path.join(dirs.case, name);
    const bytes = typeof content === 'string' ? Buffer.from(await fill(content, dirs), 'utf8') : content;
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
    inputs.set(file, bytes);
  }
  const args = await Promise.all(testCase.args.map((arg) => fill(arg, dirs)));
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: dirs.tmp };
  for (const [key, value] of Object.entries(testCase.env ?? {})) env[key] = await fill(value, dirs);
  const run = testCase.process ? await runProcess(args, env) : { ...(await runInProcess(args, dirs.tmp)), timedOut: false };
  const leftovers = [
    ...readdirSync(dirs.out).map((name) => `--out dir: ${name}`),
    // tsx-N is the TypeScript loader's cache of icos run from source, not icos's scratch.
    ...readdirSync(dirs.tmp).filter((name) => !/^tsx-\d+$/.test(name)).map((name) => `TMPDIR: ${name}`),
    ...[...inputs].filter(([file, bytes]) => !readFileSync(file).equals(bytes)).map(([file]) => `changed input: ${file}`),
  ];
  const context = `icos ${args.join(' ')}\nstatus ${run.code}${run.timedOut ? ' (killed: still running)' : ''}\n${run.stderr}`;
  const ok =
    !run.timedOut &&
    run.code === testCase.status &&
    testCase.message.test(run.stderr) &&
    !/\n\s+at |internal error/.test(run.stderr) &&
    !/[\x00-\x08\x0b-\x1f\x7f]/.test(run.stderr) &&
    leftovers.length === 0;
  if (!ok) report(command, testCase, args, run, leftovers);
  expect(run.timedOut, `hangs: ${context}`).toBe(false);
  expect(run.stderr, context).toMatch(testCase.message);
  expect(run.stderr, `stack trace or internal error: ${context}`).not.toMatch(/\n\s+at |internal error/);
  expect(run.stderr, `raw control bytes: ${context}`).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  expect(run.code, context).toBe(testCase.status);
  expect(leftovers, context).toEqual([]);
}

describe('the bad-input corpus', () => {
  it('covers every command with a table, 250 cases or more', () => {
    const covered = new Set(TABLES.map((table) => table.command));
    expect(COMMANDS.map((command) => command.command.split(' ')[0]).filter((name) => !covered.has(name!))).toEqual([]);
    expect(TABLES.reduce((sum, table) => sum + table.cases.length, 0)).toBeGreaterThanOrEqual(250);
  });
});

for (const table of TABLES) {
  const inProcess = table.cases.filter((testCase) => !testCase.process);
  const asProcess = table.cases.filter((testCase) => testCase.process);
  describe(`icos ${table.command}: bad input`, () => {
    if (inProcess.length > 0) it.each(inProcess.map((testCase) => [testCase.name, testCase] as const))('%s', (_name, testCase) => runCase(table.command, testCase));
  });
  if (asProcess.length > 0) {
    // Separate processes, started together: each takes seconds to start on a loaded machine.
    describe.concurrent(`icos ${table.command}: bad input (as a process)`, () => {
      it.each(asProcess.map((testCase) => [testCase.name, testCase] as const))('%s', (_name, testCase) => runCase(table.command, testCase), PROCESS_TIMEOUT_MS + 30_000);
    });
  }
}
