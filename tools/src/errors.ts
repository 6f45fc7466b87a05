import { SYSTEM_ERRORS } from './messages.ts';

/**
 * The error vocabulary of icos. Only `cli/main.ts` catches: everything else throws.
 *
 * Message grammar: where (file:line, or `kind(artifact)`), the value seen in quotes, then the
 * rule broken. Sentence case, no trailing period.
 */

/** Bad input or environment the user can fix: printed without a stack trace, exit status 1. */
export class UserError extends Error {
  constructor(
    message: string,
    /** A separate line telling the user what to do about it. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** One located problem found while validating an input file. */
export interface Problem {
  file: string;
  line?: number;
  column?: string;
  message: string;
}

/** Renders a problem as `file:line: column "x": message`. */
export function formatProblem(problem: Problem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}`;
  const column = problem.column === undefined ? '' : `column "${problem.column}": `;
  return `${where}: ${column}${problem.message}`;
}

/** Problems a ValidationError lists; the rest are counted (a table of junk must not flood the terminal). */
export const MAX_LISTED_PROBLEMS = 50;

/** Every problem of one validation pass, reported together (the first MAX_LISTED_PROBLEMS listed). */
export class ValidationError extends UserError {
  constructor(readonly problems: readonly Problem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => `  ${formatProblem(p)}`);
    if (problems.length > MAX_LISTED_PROBLEMS) listed.push(`  ... and ${problems.length - MAX_LISTED_PROBLEMS} more`);
    super(`${count} found:\n${listed.join('\n')}`);
    this.name = 'ValidationError';
  }
}

/** Throws a ValidationError when any problem was collected. */
export function throwIfProblems(problems: readonly Problem[]): void {
  if (problems.length > 0) throw new ValidationError(problems);
}

/** Turns a Node system error (ENOENT, ENOSPC, ...) into a UserError naming the path, or returns undefined. */
export function fromSystemError(error: unknown): UserError | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, path, syscall } = error as NodeJS.ErrnoException;
  if (code === undefined || !(code in SYSTEM_ERRORS)) return undefined;
  const what = path === undefined ? (syscall ?? 'I/O') : `"${path}"`;
  const hint = code === 'ENOSPC' || code === 'EDQUOT' ? 'free disk space (or point TMPDIR elsewhere) and run again' : undefined;
  return new UserError(`${what}: ${SYSTEM_ERRORS[code]}`, hint);
}
