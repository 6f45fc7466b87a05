import { UserError } from '../../errors.ts';
import { isLvmId } from '../../inputs/ids.ts';
import { quoted } from '../../messages.ts';

/** lvm2's NAME_LEN is 128 including the terminating NUL. */
const MAX_NAME_LENGTH = 127;

/** Substrings lvm2 keeps for its hidden sub-volumes (lib/misc/lvm-string.c), refused in LV names. */
const RESERVED_LV_SUBSTRINGS = [
  '_cdata', '_cmeta', '_corig', '_cpool', '_cvol', '_imeta', '_iorig', '_mimage', '_mlog',
  '_pmspare', '_rimage', '_rmeta', '_tdata', '_tmeta', '_vdata', '_vorigin', '_wcorig',
];

/** Why `id` is not an LVM id, or undefined when it is one. */
export function lvmIdProblem(id: string): string | undefined {
  // Same rule as the table reader, so a table it accepts is never refused here.
  if (isLvmId(id)) return undefined;
  return 'expected an LVM id: 32 letters or digits in 6-4-4-4-4-4-6 groups joined by "-", like SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm';
}

/** The 32 characters of an LVM id as stored in the PV header (dashes removed). */
export function lvmIdBytes(id: string): string {
  return id.replaceAll('-', '');
}

/** Why `name` is not a valid VG name for lvm2, or undefined when it is one. */
export function vgNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters, has ${name.length}`;
  if (!/^[A-Za-z0-9+_.-]+$/.test(name)) return 'may only contain A-Z a-z 0-9 + _ . -';
  if (name.startsWith('-')) return 'must not start with "-"';
  if (name === '.' || name === '..') return 'must not be "." or ".."';
  return undefined;
}

/** Why `name` is not a valid LV name for lvm2, or undefined when it is one. */
export function lvNameProblem(name: string): string | undefined {
  const basic = vgNameProblem(name);
  if (basic !== undefined) return basic;
  if (name.startsWith('snapshot') || name.startsWith('pvmove')) return 'must not start with "snapshot" or "pvmove" (reserved by lvm2)';
  const reserved = RESERVED_LV_SUBSTRINGS.find((s) => name.includes(s));
  if (reserved !== undefined) return `must not contain "${reserved}" (reserved by lvm2)`;
  return undefined;
}

/** Throws a UserError naming `what` and the value when `problem` found one. */
export function checkValue(what: string, value: string, problem: (value: string) => string | undefined): void {
  const reason = problem(value);
  if (reason !== undefined) throw new UserError(`${what} ${quoted(value)}: ${reason}`);
}
