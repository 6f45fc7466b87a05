/**
 * One bad input and what icos must do with it. Tables under tables/ are data: the runner
 * (corpus.test.ts) fills the placeholders, runs icos and checks status, message and leftovers.
 *
 * Placeholders in `args`, `files` keys and `env` values:
 *   {out}    an empty directory of this case only: the output goes there, and it must be empty
 *            (nothing at or beside --out) when icos has exited
 *   {case}   a directory of this case holding `files` (their bytes are checked unchanged after)
 *   {tmp}    the case's own TMPDIR, which must be empty afterwards
 *   {NAME}   a shared fixture made once by name (fixtures.ts: FIXTURES), e.g. {tree.tar}
 */
export interface BadInputCase {
  /** What is wrong, in words (the test title). */
  name: string;
  /** The command line after `icos`. */
  args: string[];
  /** Exit status: 1 for bad input, 2 for a bad command line. */
  status: 1 | 2;
  /** Must match stderr (with the placeholders' paths left as they are: match file names). */
  message: RegExp;
  /** Small input files of this case, written into {case} before the run. */
  files?: Record<string, string | Buffer>;
  /** Extra environment (process runs only). */
  env?: Record<string, string>;
  /**
   * Run icos as a separate process: for inputs that could block a thread of this process
   * forever (FIFOs, devices), device outputs and the environment (container engine).
   */
  process?: boolean;
}

/** A table: the command it covers and its cases. */
export interface BadInputTable {
  command: string;
  cases: BadInputCase[];
}
