import { mkdtemp, realpath, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import { describeSize } from '../../lib/size.ts';
import { quoted, systemReason } from '../../messages.ts';
import { formatTable, isSame } from '../../repro/artifacts.ts';
import { isWithin, planReproCheck } from '../../repro/plan.ts';
import { runReproCheck } from '../../repro/run.ts';
import { defineCommand, UsageError } from '../command.ts';

interface ReproCheckArgs {
  patterns: string[];
  keep: boolean;
  scratch?: string;
}

/** The scratch budget of a GuestOS dev check (issue 14): reported, so growth is seen. */
const SCRATCH_BUDGET_BYTES = 10 * 1000 ** 3;

/** `icos repro-check PATTERN...`: builds twice in different surroundings and compares every output. */
export const reproCheckCommand = defineCommand<ReproCheckArgs>({
  command: 'repro-check <patterns..>',
  describe: 'Build Bazel target patterns twice (other output base, umask, TZ, locale, TMPDIR, checkout path) and compare every output',
  builder: (yargs) =>
    yargs
      .positional('patterns', { type: 'string', array: true, demandOption: true, describe: 'Bazel target patterns, e.g. //envs/guestos/dev/...' })
      .option('keep', { type: 'boolean', default: false, describe: 'Keep both builds (output bases, checkout copy) for icos diff' })
      .option('scratch', { type: 'string', describe: 'Folder for both builds (default: TMPDIR); it gets a fresh sub-folder' }) as never,
  async run(args, { runner, log }) {
    const { stdout } = await runner.run('git', ['rev-parse', '--show-toplevel'], { cwd: process.cwd() }).catch(() => {
      throw new UserError(`repro-check: ${quoted(process.cwd())} is not in a git checkout (run it in the checkout to build)`);
    });
    const checkout = await realpath(stdout.trim());
    if ((await stat(path.join(checkout, 'WORKSPACE')).catch(() => undefined)) === undefined) {
      throw new UserError(`repro-check: ${quoted(checkout)} has no WORKSPACE file: not a Bazel workspace`);
    }
    const where = args.scratch === undefined ? 'TMPDIR' : '--scratch';
    const parent = await realpath(args.scratch ?? tmpdir()).catch((error: unknown) => {
      throw new UsageError(`${where} ${quoted(args.scratch ?? tmpdir())}: ${systemReason(error)}`);
    });
    if (!(await stat(parent)).isDirectory()) throw new UsageError(`${where} ${quoted(args.scratch ?? tmpdir())}: not a directory`);
    // Bazel would take a copy of the checkout inside it for part of the workspace.
    if (isWithin(parent, checkout)) throw new UsageError(`${where} ${quoted(parent)}: inside the checkout ${quoted(checkout)}: the builds' scratch must be outside it`);
    const scratch = await mkdtemp(path.join(parent, 'icos-repro-check-')).catch((error: unknown) => {
      throw new UserError(`${where} ${quoted(parent)}: cannot make a scratch folder: ${systemReason(error)}`);
    });
    const plan = planReproCheck({ checkout, scratch, patterns: args.patterns, callerEnv: process.env });
    const outcome = await runReproCheck(plan, scratch, { runner, log }, args.keep);
    if (outcome.kind === 'interrupted') return outcome.status;

    if (outcome.rows.length === 0) {
      // `...` leaves out targets tagged manual: an env's images are reached through its filegroup.
      throw new UserError(`repro-check: ${args.patterns.join(' ')}: the builds made no output file to compare`, 'name a target with outputs (patterns with ... skip targets tagged manual)');
    }
    process.stdout.write(formatTable(outcome.rows));
    const over = outcome.scratchBytes > SCRATCH_BUDGET_BYTES ? ` (over the ${describeSize(SCRATCH_BUDGET_BYTES)} a GuestOS dev check may use)` : '';
    log.info(`repro-check: scratch at the end: ${describeSize(outcome.scratchBytes)}${over}, ${args.keep ? `kept in ${scratch}` : 'removed'}`);
    const differing = outcome.rows.filter((row) => !isSame(row));
    if (differing.length === 0) {
      log.info(`repro-check: identical in both builds: ${outcome.rows.length} of ${outcome.rows.length} artifacts`);
      return;
    }
    for (const row of differing) {
      const command = row.a !== undefined && row.b !== undefined ? `icos diff ${row.a.path} ${row.b.path}` : `(built by ${row.a === undefined ? 'B' : 'A'} only)`;
      log.info(`differs: ${row.name}${args.keep ? `\n  ${command}` : ''}`);
    }
    throw new UserError(
      `repro-check: ${differing.length} of ${outcome.rows.length} artifacts differ between the two builds: ${differing.map((row) => row.name).join(', ')}`,
      args.keep ? 'compare each with the icos diff command printed above' : 'run again with --keep and compare each with: icos diff A B',
    );
  },
});
