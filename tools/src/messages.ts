/**
 * The message catalogue: the wording of every user-facing failure that more than one place can
 * report lives here, once. Throw sites pass the facts (where, the value seen, the limit); this
 * module says the rule. Grammar (errors.ts): where (file:line, `--flag "value"` or
 * `kind(artifact)`), the value seen in quotes, then the rule broken; sentence case, no period.
 */

/** Node system error codes, in words. */
export const SYSTEM_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory, expected a file',
  ENOTDIR: 'a path component is not a directory',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
  EMFILE: 'too many open files',
  EFBIG: 'file too large for this file system',
};

/** Why an I/O call failed, in words: never "undefined", never a stack. */
export function systemReason(error: unknown): string {
  const { code, message } = (error ?? {}) as NodeJS.ErrnoException;
  if (code !== undefined && code in SYSTEM_ERRORS) return SYSTEM_ERRORS[code]!;
  if (code !== undefined) return code;
  return typeof message === 'string' && message !== '' ? message : String(error);
}

/** Longest value a message quotes whole; a longer one (a binary file's "line") is cut. */
const MAX_QUOTED_CHARACTERS = 80;

/** `\x07`, `\u2028`, `\"` or `\\`: how `quoted` shows one character. */
function escapeCharacter(character: string): string {
  if (character === '\\' || character === '"') return `\\${character}`;
  const code = character.charCodeAt(0);
  return code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`;
}

/**
 * A value seen in an input, in double quotes and safe to print on a terminal: control characters
 * (C0, DEL, C1, line and paragraph separators) become `\x00`-style escapes, quotes and backslashes
 * are escaped, and a long value is cut after its first characters.
 */
export function quoted(value: string): string {
  const characters = [...value];
  const shown = characters.length > MAX_QUOTED_CHARACTERS ? characters.slice(0, MAX_QUOTED_CHARACTERS).join('') : value;
  const escaped = `"${shown.replace(/[\\"\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, escapeCharacter)}"`;
  return shown === value ? escaped : `${escaped}... (${characters.length} characters)`;
}

/**
 * Why a text is not JSON, from JSON.parse's SyntaxError, without echoing the input raw (its
 * message quotes the first bytes, control characters and all): `not JSON at position 7: expected
 * double-quoted property name`, `not JSON: unexpected "\x1b"`.
 */
export function notJson(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const atPosition = /^(.*?) in JSON at position (\d+)/.exec(message);
  if (atPosition !== null) return `not JSON at position ${atPosition[2]}: ${lowerFirst(atPosition[1]!)}`;
  const token = /^Unexpected token '(.*?)', /s.exec(message);
  if (token !== null) return `not JSON: unexpected ${quoted(token[1]!)}`;
  if (message === 'Unexpected end of JSON input') return 'not JSON: it ends before the value is complete';
  return `not JSON: ${lowerFirst(message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, escapeCharacter))}`;
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

export const MESSAGES = {
  /** An input that could not be opened or read. */
  cannotRead: (where: string, error: unknown) => `${where}: cannot be read: ${systemReason(error)}`,
  /** A path where a regular file is required holds something else (`found`: "a FIFO", ...). */
  notRegularFile: (where: string, found: string) => `${where}: is ${found}, expected a regular file`,
  /** An input larger than its format allows. */
  inputTooLarge: (where: string, size: number, limit: number) => `${where}: is ${size} bytes, more than the ${limit} bytes allowed`,
  /** An output path that icos will not replace (a device, a directory, a FIFO, ...). */
  outputNotReplaceable: (where: string, found: string) => `${where}: is ${found}: only a regular file (or nothing) is replaced by an output`,
  /** An output that could not be written (ENOSPC, EFBIG, EACCES, ...), named by its final path. */
  cannotWrite: (where: string, error: unknown) => `${where}: cannot be written: ${systemReason(error)}`,
  /** A size or position beyond what the output format (or icos's exact byte arithmetic) can hold. */
  exceedsLimit: (what: string, limit: string) => `${what}: exceeds the format's limit: ${limit}`,
} as const;
