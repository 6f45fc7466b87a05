import yargs from 'yargs';
import type { CommandDeps } from './command.ts';
import { COMMANDS } from './commands/registry.ts';
import { fromSystemError, UserError } from '../errors.ts';
import { ConsoleLogger } from '../infra/console-logger.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';

function report(error: UserError): void {
  process.stderr.write(`icos: ${error.message}\n`);
  if (error.hint !== undefined) process.stderr.write(`  hint: ${error.hint}\n`);
}

/**
 * Runs `icos` with the given arguments and returns the exit status. This is the one place that
 * catches: user errors print one located message and give status 1; anything else is a bug.
 */
export async function main(argv: readonly string[], deps?: CommandDeps): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v') || process.env.ICOS_VERBOSE === '1';
  const log = deps?.log ?? new ConsoleLogger(verbose);
  const commandDeps: CommandDeps = deps ?? { runner: new ExecaCommandRunner(log), log };
  let parser = yargs([...argv])
    .scriptName('icos')
    .usage('$0 <command> [options]\n\nBuilds the partition, filesystem and disk images of IC-OS.')
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'Echo every tool call (also ICOS_VERBOSE=1)' })
    .demandCommand(1, 'Name a command: see icos --help')
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((message, error) => {
      throw error ?? new UserError(message);
    });
  for (const command of COMMANDS) {
    parser = parser.command({
      command: command.command,
      describe: command.describe,
      builder: (y) => command.builder(y),
      handler: (args) => command.run(args, commandDeps),
    });
  }
  try {
    await parser.parseAsync();
    return 0;
  } catch (error) {
    const userError = error instanceof UserError ? error : fromSystemError(error);
    if (userError !== undefined) {
      report(userError);
      return 1;
    }
    process.stderr.write(`icos: internal error (this is a bug):\n${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  }
}
