import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../lib/repo-root.ts';

/**
 * The report of an unexpected exception (a bug, not bad input): one line saying so, then what an
 * issue needs (command line, sizes of the input files named on it, versions, platform). The stack
 * is printed under --verbose, otherwise written to a file whose path is printed.
 */

/** EX_SOFTWARE of sysexits.h: an internal software error. */
export const INTERNAL_ERROR_STATUS = 70;

function icosVersion(): string {
  try {
    return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Paths a token may name: itself, the value of `--flag=PATH`, `NAME=PATH`, and `SRC` of `SRC:DST:MODE`. */
function candidatePaths(token: string): string[] {
  const afterEquals = token.includes('=') ? token.slice(token.indexOf('=') + 1) : undefined;
  return [token, afterEquals, afterEquals?.split(':')[0], token.split(':')[0]].filter((p): p is string => p !== undefined && p !== '');
}

/** `file (N bytes)` for every regular file named on the command line: the inputs a bug report needs the size of. */
export function inputSizes(rawArgs: readonly string[]): string[] {
  const seen = new Set<string>();
  const sizes: string[] = [];
  for (const candidate of rawArgs.flatMap(candidatePaths)) {
    if (seen.has(candidate) || candidate.startsWith('-')) continue;
    seen.add(candidate);
    try {
      const info = statSync(candidate);
      if (info.isFile()) sizes.push(`${candidate} (${info.size} bytes)`);
    } catch {
      // Not a path (a name, a size, a flag value): nothing to report.
    }
  }
  return sizes;
}

/** A shell-readable rendering of the command line (arguments with spaces or quotes in single quotes). */
function commandLine(rawArgs: readonly string[]): string {
  return ['icos', ...rawArgs.map((arg) => (/^[\w./:=@%+,-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`))].join(' ');
}

/** The summary lines of an internal error (no stack). */
export function internalErrorSummary(error: unknown, rawArgs: readonly string[]): string {
  const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const inputs = inputSizes(rawArgs);
  return [
    `icos: internal error (this is a bug): ${what}`,
    '  Please report it with these lines:',
    `  command: ${commandLine(rawArgs)}`,
    `  inputs: ${inputs.length === 0 ? 'no files named' : inputs.join(', ')}`,
    `  versions: icos ${icosVersion()}, Node ${process.version}, ${process.platform} ${process.arch}`,
  ].join('\n');
}

/** Prints the report to stderr; the stack goes to stderr under `verbose`, else to a file in TMPDIR. */
export function reportInternalError(error: unknown, rawArgs: readonly string[], verbose: boolean): void {
  const summary = internalErrorSummary(error, rawArgs);
  const stack = error instanceof Error && error.stack !== undefined ? error.stack : String(error);
  if (verbose) {
    process.stderr.write(`${summary}\n  stack:\n${stack}\n`);
    return;
  }
  const file = path.join(tmpdir(), `icos-internal-error-${Date.now()}-${process.pid}.txt`);
  try {
    writeFileSync(file, `${summary}\n  stack:\n${stack}\n`, { flag: 'wx', mode: 0o644 });
    process.stderr.write(`${summary}\n  stack: in ${file} (or run again with --verbose)\n`);
  } catch {
    process.stderr.write(`${summary}\n  stack: run again with --verbose to see it\n`);
  }
}
