import { UserError } from '../../errors.ts';
import { fromSystemError } from '../../errors.ts';
import { diffArtifacts } from '../../diff/compare.ts';
import { formatJson, formatText } from '../../diff/report.ts';
import { defineCommand, UsageError } from '../command.ts';

/** Status when the artifacts differ, as diff(1) and cmp(1) give it. */
const DIFFERENT_STATUS = 1;

/**
 * Trouble (a missing file, an archive that is not one): status 2, as diff(1) gives it, so that a
 * script can tell "they differ" (1) from "could not compare". main prints usage errors with status 2
 * and without the usage text unless the command line itself was wrong.
 */
class DiffTrouble extends UsageError {}

/** `icos diff A B`: where two artifacts differ, by name (member, partition, LV, file, field). */
export const diffCommand = defineCommand({
  command: 'diff <a> <b>',
  describe: 'Compare two artifacts (archives, disk, LVM, ext4, FAT, verity images) and name their first differences',
  builder: (yargs) =>
    yargs
      .positional('a', { type: 'string', demandOption: true, describe: 'First artifact' })
      .positional('b', { type: 'string', demandOption: true, describe: 'Second artifact' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the differences as JSON' })
      .option('max', { type: 'number', default: 50, describe: 'Stop after this many differences' }),
  async run(args, { runner }) {
    if (!Number.isInteger(args.max) || args.max < 1) throw new UsageError(`--max "${args.max}": expected a whole number of at least 1`);
    let report;
    try {
      report = await diffArtifacts(args.a, args.b, { max: args.max, runner });
    } catch (error) {
      // Not handled here: only given diff(1)'s status for trouble, then reported by main as usual.
      const userError = error instanceof UserError ? error : fromSystemError(error);
      if (userError === undefined || userError instanceof UsageError) throw error;
      throw new DiffTrouble(userError.message, userError.hint);
    }
    const identical = report.differences.length === 0;
    if (args.json) process.stdout.write(formatJson(report));
    else process.stdout.write(formatText(report));
    return identical ? 0 : DIFFERENT_STATUS;
  },
});
