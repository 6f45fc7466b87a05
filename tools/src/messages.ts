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

export const MESSAGES = {
  /** An input that could not be opened or read. */
  cannotRead: (where: string, error: unknown) => `${where}: cannot be read: ${systemReason(error)}`,
} as const;
