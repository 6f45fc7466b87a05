import yargs, { type Arguments, type Argv } from 'yargs';
import { quoted } from '../messages.ts';
import { type IcosCommand, UsageError } from './command.ts';

/**
 * Checks of a command line that yargs does not make, and the short usage text printed with a
 * usage error (the command's synopsis, not the whole help).
 */

/**
 * A command line of the wrong shape (unknown command or flag, missing or repeated flag, a value
 * where none belongs): reported with the command's usage. Other usage errors (a flag value that
 * is refused) name the flag and its value, which says enough.
 */
export class CommandLineError extends UsageError {}

/** What yargs knows of a command's options (getOptions() is public at run time but missing from @types/yargs). */
interface OptionFacts {
  key: Record<string, unknown>;
  array: string[];
  boolean: string[];
  alias: Record<string, string[]>;
  demandedOptions: Record<string, unknown>;
}

function optionFacts(parser: Argv): OptionFacts {
  return (parser as unknown as { getOptions(): OptionFacts }).getOptions();
}

/** Options yargs adds to every command: not worth a place in a synopsis. */
const BUILT_IN = new Set(['help', 'version', 'verbose']);

/** The tokens before `--` (after it everything is an operand). */
function optionTokens(rawArgs: readonly string[]): readonly string[] {
  const end = rawArgs.indexOf('--');
  return end < 0 ? rawArgs : rawArgs.slice(0, end);
}

/**
 * yargs reads `--flag=maybe` of a yes/no flag as false, silently: a value other than true or false
 * is refused (`--flag`, `--no-flag`, `--flag=true` and `--flag=false` are the ways to say it).
 */
function refuseNonBooleanValues(rawArgs: readonly string[], facts: OptionFacts): void {
  const booleans = new Set(facts.boolean.flatMap((name) => [name, ...(facts.alias[name] ?? [])]));
  for (const token of optionTokens(rawArgs)) {
    const match = /^--?(?:no-)?([^=]+)=(.*)$/s.exec(token);
    if (match === null || !booleans.has(match[1]!)) continue;
    if (match[2] !== 'true' && match[2] !== 'false') {
      throw new CommandLineError(`${token.slice(0, token.indexOf('='))} ${quoted(match[2]!)}: a yes/no flag, given alone or as =true or =false`);
    }
  }
}

/** yargs turns a repeated single-value flag into an array: refuse it instead of guessing. */
function refuseRepeatedFlags(argv: Arguments, facts: OptionFacts): void {
  const repeatable = new Set(facts.array);
  for (const [key, value] of Object.entries(argv)) {
    // Skip `_` and the camelCase copies yargs adds next to dashed names.
    if (key === '_' || /[A-Z]/.test(key) || repeatable.has(key)) continue;
    if (Array.isArray(value)) {
      throw new CommandLineError(`--${key} is given more than once (${value.map((v) => quoted(String(v))).join(', ')}): give it once`);
    }
  }
}

/**
 * A flag whose value is an object came from a dotted name (`--part.x 1`); dot notation is off in
 * the parser, so this is a second guard that keeps such values away from the commands.
 */
function refuseObjectValues(argv: Arguments): void {
  for (const [key, value] of Object.entries(argv)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      throw new CommandLineError(`--${key}: not an option (a dotted flag such as --${key}.x is not one either)`);
    }
  }
}

/** Every check above, for the parsed `argv` of the command whose parser is `parser`. */
export function checkFlags(rawArgs: readonly string[], argv: Arguments, parser: Argv): void {
  const facts = optionFacts(parser);
  refuseNonBooleanValues(rawArgs, facts);
  refuseObjectValues(argv);
  refuseRepeatedFlags(argv, facts);
}

/** The verb of a command line: its first token that is not a flag. */
export function verbOf(rawArgs: readonly string[]): string | undefined {
  return optionTokens(rawArgs).find((token) => !token.startsWith('-'));
}

/** A command's name, as typed: the first word of its yargs command string (`base <action>`: base). */
export function commandName(command: IcosCommand<unknown>): string {
  return command.command.split(' ')[0]!;
}

/** One command's synopsis: required flags first, optional ones in brackets, repeatable ones with `...`. */
function commandSynopsis(command: IcosCommand<unknown>): string {
  let facts: OptionFacts;
  try {
    // version(false): some commands have a --version option of their own (upgrade-image).
    facts = optionFacts(command.builder(yargs([]).version(false)));
  } catch {
    return `icos ${command.command} [options]`;
  }
  const words = [`icos ${command.command}`];
  const optional: string[] = [];
  for (const name of Object.keys(facts.key)) {
    if (BUILT_IN.has(name) || /[A-Z]/.test(name)) continue;
    const value = facts.boolean.includes(name) ? '' : facts.array.includes(name) ? ' <value>...' : ' <value>';
    if (name in facts.demandedOptions) words.push(`--${name}${value}`);
    else optional.push(`[--${name}${value}]`);
  }
  return [...words, ...optional].join(' ');
}

/**
 * The usage text printed after a usage error: the synopsis of the command named on the command
 * line, or the list of commands when none (or an unknown one) is named.
 */
export function usageText(rawArgs: readonly string[], commands: readonly IcosCommand<unknown>[]): string {
  const verb = verbOf(rawArgs);
  const command = commands.find((c) => commandName(c) === verb);
  if (command !== undefined) return `usage: ${commandSynopsis(command)}\n  (icos ${verb} --help describes every option)\n`;
  return `usage: icos <command> [options]\n  commands: ${commands.map(commandName).join(', ')}\n  (icos --help describes them)\n`;
}
