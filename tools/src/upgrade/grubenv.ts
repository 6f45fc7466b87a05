import { UserError } from '../errors.ts';

/**
 * GRUB's environment block (`grubenv`) and the A/B boot states IC-OS keeps in it.
 *
 * The block is a file of exactly 1024 bytes: the header line, `name=value` lines, then `#` up to
 * the end. GRUB's `save_env` rewrites it in place (it never allocates blocks), so the file's size
 * must never change; `grub-editenv` keeps it too, and the tests hold this module to that tool.
 *
 * Two variables matter, written by two parties:
 *   boot_alternative  A or B: the slot GRUB boots (anything else boots A)
 *   boot_cycle        install | stable | first_boot | failsafe_check
 * GRUB (components/bootloader/grub.cfg, HostOS's likewise) moves install to stable, first_boot to
 * failsafe_check before it boots the new slot, and failsafe_check to the other slot, stable: a
 * new slot that never confirmed itself is abandoned on the next boot. The running OS commits an
 * upgrade (boot_alternative = the other slot, first_boot) and confirms a good boot (stable).
 */

export const GRUBENV_SIZE = 1024;
const HEADER = '# GRUB Environment Block\n';

export type Slot = 'A' | 'B';
export const SLOTS: readonly Slot[] = ['A', 'B'];
export type GrubEnv = ReadonlyMap<string, string>;

/** The variables of a grubenv block, in their order. `where` names the block in messages. */
export function parseGrubenv(block: Buffer, where: string): GrubEnv {
  if (block.length !== GRUBENV_SIZE) throw new UserError(`${where}: ${block.length} bytes: a grubenv block is exactly ${GRUBENV_SIZE}`);
  const text = block.toString('latin1');
  if (!text.startsWith(HEADER)) throw new UserError(`${where}: does not start with "${HEADER.trim()}": not a grubenv block`);
  const env = new Map<string, string>();
  let at = HEADER.length;
  while (at < text.length && text[at] !== '#') {
    const end = text.indexOf('\n', at);
    if (end < 0) throw new UserError(`${where}: byte ${at}: a variable line runs into the end of the block (no newline)`);
    const line = text.slice(at, end);
    const equals = line.indexOf('=');
    // GRUB escapes "\" and newlines in values; we never write them, so a backslash means someone else did.
    if (equals <= 0 || line.includes('\\')) throw new UserError(`${where}: byte ${at}: "${line}" is not a name=value line`);
    env.set(line.slice(0, equals), line.slice(equals + 1));
    at = end + 1;
  }
  if (!/^#*$/.test(text.slice(at))) throw new UserError(`${where}: byte ${at}: after the variables only "#" padding may follow`);
  return env;
}

/** The 1024-byte block of `env`, in its order, as grub-editenv writes it. */
export function formatGrubenv(env: GrubEnv, where = 'grubenv'): Buffer {
  let text = HEADER;
  for (const [name, value] of env) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UserError(`${where}: variable name "${name}": letters, digits and "_" only`);
    if (/[\\\n]/.test(value)) throw new UserError(`${where}: ${name}: a value may not hold a backslash or a newline`);
    text += `${name}=${value}\n`;
  }
  if (text.length > GRUBENV_SIZE) throw new UserError(`${where}: the variables take ${text.length} bytes, more than the ${GRUBENV_SIZE} of the block`);
  return Buffer.from(text.padEnd(GRUBENV_SIZE, '#'), 'latin1');
}

/** `env` with `changes` set: an existing variable keeps its place, a new one goes last (grub-editenv's order). */
export function withVariables(env: GrubEnv, changes: Readonly<Record<string, string>>): GrubEnv {
  const next = new Map(env);
  for (const [name, value] of Object.entries(changes)) next.set(name, value);
  return next;
}

export function otherSlot(slot: Slot): Slot {
  return slot === 'A' ? 'B' : 'A';
}

/** The slot grubenv names: GRUB boots A for anything but "B". */
export function alternativeOf(env: GrubEnv): Slot {
  return env.get('boot_alternative') === 'B' ? 'B' : 'A';
}

/** What GRUB does at one boot: the slot it boots and the grubenv it leaves (the same map if it saves nothing). */
export interface GrubBoot {
  slot: Slot;
  /** boot_cycle as GRUB printed it on the console ("booting slot B (failsafe_check)"). */
  cycle: string;
  env: GrubEnv;
}

/** The decision of grub.cfg, step by step: the tests check it against GRUB in QEMU. */
export function grubBoot(env: GrubEnv): GrubBoot {
  let slot = alternativeOf(env);
  const cycle = env.get('boot_cycle') ?? '';
  const save = (nextSlot: Slot, nextCycle: string): GrubBoot => ({
    slot: nextSlot,
    cycle: nextCycle,
    env: withVariables(env, { boot_alternative: nextSlot, boot_cycle: nextCycle }),
  });
  switch (cycle) {
    case '':
    case 'install':
      return save(slot, 'stable');
    case 'first_boot':
      return save(slot, 'failsafe_check');
    case 'failsafe_check':
      slot = otherSlot(slot);
      return save(slot, 'stable');
    default:
      // stable, or a value GRUB does not know: boot the slot named and write nothing.
      return { slot, cycle, env };
  }
}

/**
 * `upgrade-commit` on the OS running from `running`: boot the other slot next, once. Refused when
 * the running boot is not the confirmed one (a commit then would leave no good slot to fall back to).
 */
export function commitUpgrade(env: GrubEnv, running: Slot, where: string): GrubEnv {
  checkRunningIsConfirmed(env, running, where);
  return withVariables(env, { boot_alternative: otherSlot(running), boot_cycle: 'first_boot' });
}

/** Refuses an upgrade unless grubenv names the running slot as stable. */
export function checkRunningIsConfirmed(env: GrubEnv, running: Slot, where: string): void {
  const cycle = env.get('boot_cycle');
  if (alternativeOf(env) !== running || cycle !== 'stable') {
    throw new UserError(
      `${where}: boot_alternative=${env.get('boot_alternative') ?? '(unset)'} boot_cycle=${cycle ?? '(unset)'} while slot ${running} runs: an upgrade needs the running slot confirmed (stable)`,
      'let the present boot confirm itself (manageboot confirm) first',
    );
  }
}

/**
 * `confirm` on the OS running from `running`: the boot is good, keep this slot. Writes stable
 * only when grubenv names the running slot: after a commit (the other slot, first_boot) a confirm
 * must not cancel the pending upgrade. Beyond IC-OS (which confirms failsafe_check only), any
 * other value is repaired too: first_boot left by a torn GRUB write, or a value nobody knows.
 * Returns undefined when there is nothing to write.
 */
export function confirmBoot(env: GrubEnv, running: Slot): GrubEnv | undefined {
  if (alternativeOf(env) !== running || env.get('boot_cycle') === 'stable') return undefined;
  return withVariables(env, { boot_alternative: running, boot_cycle: 'stable' });
}
