import yargs, { type Arguments, type Argv } from 'yargs';
import { type CommandDeps, UsageError } from './command.ts';
import { COMMANDS } from './commands/registry.ts';
import { fromSystemError, UserError } from '../errors.ts';
import type { ContainerEngine } from '../definitions.ts';
import { ConsoleLogger } from '../infra/console-logger.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';

/** yargs turns a repeated single-value flag into an array: refuse it instead of guessing. */
function refuseRepeatedFlags(argv: Arguments, parser: Argv): void {
  // getOptions() is public at run time but missing from @types/yargs.
  const repeatable = new Set((parser as unknown as { getOptions(): { array: string[] } }).getOptions().array);
  for (const [key, value] of Object.entries(argv)) {
    // Skip `_` and the camelCase copies yargs adds next to dashed names.
    if (key === '_' || /[A-Z]/.test(key) || repeatable.has(key)) continue;
    if (Array.isArray(value)) {
      throw new UsageError(`--${key} is given more than once (${value.map((v) => `"${v}"`).join(', ')}): give it once`);
    }
  }
}

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

/**
 * Runs `icos` with the given arguments and returns the exit status. This is the one place that
 * catches: user errors print one located message and give status 1; anything else is a bug.
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
  let status = 0;
  for (const command of COMMANDS) {
    parser = parser.command({
      command: command.command,
      describe: command.describe,
      builder: (y) => {
        const withOptions = command.builder(y);
        return withOptions.middleware((argv) => refuseRepeatedFlags(argv, withOptions));
      },
      handler: async (args) => {
        status = (await command.run(args, commandDeps)) ?? 0;
      },
    });
  }
  try {
    await parser.parseAsync();
    return status;
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
