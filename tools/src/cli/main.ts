import yargs from 'yargs';
import { type CommandDeps, UsageError } from './command.ts';
import { COMMANDS } from './commands/registry.ts';
import { checkFlags, CommandLineError, commandName, usageText, verbOf } from './flags.ts';
import { INTERNAL_ERROR_STATUS, reportInternalError } from './internal-error.ts';
import { fromSystemError, UserError } from '../errors.ts';
import type { ContainerEngine } from '../definitions.ts';
import { ConsoleLogger } from '../infra/console-logger.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { quoted } from '../messages.ts';

/**
 * dockerode's engine (DOCKER_HOST), loaded and made once, only when a command asks for it: the
 * dynamic import keeps the adapter (and dockerode) out of the image tools' bundles, so changing
 * container code does not change the tool of every image action.
 */
function lazyDockerodeEngine(): () => Promise<ContainerEngine> {
  let engine: Promise<ContainerEngine> | undefined;
  return () =>
    (engine ??= import('../infra/dockerode-container-engine.ts').then(({ DockerodeContainerEngine }) => new DockerodeContainerEngine()));
}

function report(error: UserError): void {
  process.stderr.write(`icos: ${error.message}\n`);
  if (error.hint !== undefined) process.stderr.write(`  hint: ${error.hint}\n`);
}

/** Exit status of a bad command line (usage errors), as the shell's builtins use it. */
export const USAGE_STATUS = 2;

/**
 * Runs `icos` with the given arguments and returns the exit status. This is the one place that
 * catches: user errors print one located message and give status 1, usage errors give 2 (a
 * command line of the wrong shape also prints the command's usage); anything else is a bug,
 * reported as an internal error (70).
 * Tests may pass some of the deps (fakes); the rest are the real adapters.
 */
export async function main(argv: readonly string[], deps: Partial<CommandDeps> = {}): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v') || process.env.ICOS_VERBOSE === '1';
  const log = deps.log ?? new ConsoleLogger(verbose);
  const commandDeps: CommandDeps = {
    log,
    runner: deps.runner ?? new ExecaCommandRunner(log),
    engine: deps.engine ?? lazyDockerodeEngine(),
  };
  let parser = yargs([...argv])
    // `--part.x 1` would become {part: {x: 1}}: with dots as plain characters it is an unknown flag.
    .parserConfiguration({ 'dot-notation': false })
    .scriptName('icos')
    .usage('$0 <command> [options]\n\nBuilds the partition, filesystem and disk images of IC-OS.')
    .option('verbose', { alias: 'v', type: 'boolean', describe: 'Echo every tool call (also ICOS_VERBOSE=1)' })
    .demandCommand(1, 'Name a command: see icos --help')
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns ?? 110))
    .fail((message, error) => {
      throw error ?? new CommandLineError(message);
    });
  let status = 0;
  for (const command of COMMANDS) {
    parser = parser.command({
      command: command.command,
      describe: command.describe,
      builder: (y) => {
        const withOptions = command.builder(y);
        return withOptions.middleware((args) => checkFlags(argv, args, withOptions));
      },
      handler: async (args) => {
        status = (await command.run(args, commandDeps)) ?? 0;
      },
    });
  }
  try {
    const verb = verbOf(argv);
    // yargs would call it an unknown argument.
    if (verb !== undefined && !COMMANDS.some((command) => commandName(command) === verb)) throw new CommandLineError(`unknown command ${quoted(verb)}`);
    await parser.parseAsync();
    return status;
  } catch (error) {
    if (error instanceof UsageError) {
      report(error);
      if (error instanceof CommandLineError) process.stderr.write(usageText(argv, COMMANDS));
      return USAGE_STATUS;
    }
    const userError = error instanceof UserError ? error : fromSystemError(error);
    if (userError !== undefined) {
      report(userError);
      return 1;
    }
    reportInternalError(error, argv, verbose);
    return INTERNAL_ERROR_STATUS;
  }
}
