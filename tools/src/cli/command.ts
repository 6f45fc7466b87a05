import type { Argv } from 'yargs';
import type { CommandRunner, ContainerEngine, Logger } from '../definitions.ts';
import { UserError } from '../errors.ts';

/** What every command receives instead of importing adapters itself (tests pass fakes). */
export interface CommandDeps {
  runner: CommandRunner;
  log: Logger;
  /**
   * The container engine, made on first call so commands that never use one never connect (and
   * loaded then: image tools do not carry the container adapter). Callers await it.
   */
  engine(): ContainerEngine | Promise<ContainerEngine>;
}

/** One `icos <verb>`: its yargs options and its action. */
export interface IcosCommand<Args = Record<string, unknown>> {
  command: string;
  describe: string;
  builder(yargs: Argv): Argv<Args>;
  /** A number returned is icos's exit status (a launcher passes its child's on); else 0. */
  run(args: Args, deps: CommandDeps): Promise<void | number>;
}

/** Identity helper that gives every command the same shape and infers its argument type. */
export function defineCommand<Args>(command: IcosCommand<Args>): IcosCommand<Args> {
  return command;
}

/** Parses a repeatable `NAME=VALUE` option into a map, rejecting malformed or repeated names. */
export function parseAssignments(option: string, values: readonly string[] | undefined): Map<string, string> {
  const result = new Map<string, string>();
  for (const value of values ?? []) {
    const eq = value.indexOf('=');
    if (eq <= 0 || eq === value.length - 1) {
      throw new UsageError(`--${option} "${value}": expected NAME=PATH`);
    }
    const name = value.slice(0, eq);
    if (result.has(name)) throw new UsageError(`--${option} "${value}": "${name}" is given more than once`);
    result.set(name, value.slice(eq + 1));
  }
  return result;
}

/** A bad command line. */
export class UsageError extends UserError {}
