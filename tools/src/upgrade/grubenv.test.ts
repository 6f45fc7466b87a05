import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { tool, useTempDir } from '../../../test/support/tools.ts';
import {
  commitUpgrade,
  confirmBoot,
  formatGrubenv,
  GRUBENV_SIZE,
  grubBoot,
  type GrubEnv,
  parseGrubenv,
  type Slot,
  withVariables,
} from './grubenv.ts';

/**
 * grubenv blocks against grub-editenv (GRUB's own tool), and the A/B states against the
 * transitions of IC-OS's manageboot and grub.cfg (../shared/reference/ic-os-runtime-facts.md §3).
 */
const { at } = useTempDir('grubenv');
const SHIPPED = path.join(REPO_ROOT, 'components/bootloader/grubenv');
const env = (alternative: string, cycle: string): GrubEnv => new Map([['boot_alternative', alternative], ['boot_cycle', cycle]]);

describe('grubenv blocks', () => {
  it('reads the shipped block as grub-editenv lists it', () => {
    const parsed = parseGrubenv(readFileSync(SHIPPED), SHIPPED);
    const listed = tool('grub-editenv', [SHIPPED, 'list']).trim().split('\n');
    expect([...parsed].map(([name, value]) => `${name}=${value}`)).toEqual(listed);
  });

  it('writes the bytes grub-editenv writes for the same changes, in place and appended', () => {
    const file = at('editenv');
    copyFileSync(SHIPPED, file);
    tool('grub-editenv', [file, 'set', 'boot_cycle=first_boot', 'boot_alternative=B', 'extra=1']);
    const ours = formatGrubenv(withVariables(parseGrubenv(readFileSync(SHIPPED), SHIPPED), { boot_cycle: 'first_boot', boot_alternative: 'B', extra: '1' }));
    expect(ours.length).toBe(GRUBENV_SIZE);
    expect(ours.equals(readFileSync(file))).toBe(true);
    writeFileSync(file, ours);
    expect(tool('grub-editenv', [file, 'list'])).toBe('boot_alternative=B\nboot_cycle=first_boot\nextra=1\n');
  });

  it('refuses a block of the wrong size, header or padding, naming it and the byte', () => {
    const good = readFileSync(SHIPPED);
    expect(() => parseGrubenv(good.subarray(0, 512), 'grub:/grubenv')).toThrow('grub:/grubenv: 512 bytes: a grubenv block is exactly 1024');
    expect(() => parseGrubenv(Buffer.alloc(1024, 0), 'g')).toThrow('not a grubenv block');
    const badPadding = Buffer.from(good);
    badPadding[1000] = 0x41;
    expect(() => parseGrubenv(badPadding, 'g')).toThrow(/g: byte \d+: after the variables only "#" padding may follow/);
    const noEquals = Buffer.from(good);
    noEquals.write('boot_alternativeXA', 25, 'latin1');
    expect(() => parseGrubenv(noEquals, 'g')).toThrow('g: byte 25: "boot_alternativeXA" is not a name=value line');
  });

  it('refuses variables that do not fit or that GRUB would have to escape', () => {
    expect(() => formatGrubenv(new Map([['big', 'x'.repeat(1000)]]), 'g')).toThrow('more than the 1024 of the block');
    expect(() => formatGrubenv(new Map([['a', 'b\nc']]), 'g')).toThrow('g: a: a value may not hold a backslash or a newline');
    expect(() => formatGrubenv(new Map([['a b', 'c']]), 'g')).toThrow('variable name "a b"');
  });
});

/** One boot by GRUB, then (when the booted OS reaches its services) its confirm. */
function bootAndConfirm(state: GrubEnv, healthy: (slot: Slot) => boolean): { slot: Slot; cycle: string; state: GrubEnv } {
  const boot = grubBoot(state);
  const confirmed = healthy(boot.slot) ? confirmBoot(boot.env, boot.slot) : undefined;
  return { slot: boot.slot, cycle: boot.cycle, state: confirmed ?? boot.env };
}
const pair = (state: GrubEnv) => `${state.get('boot_alternative')}/${state.get('boot_cycle')}`;

describe('A/B boot states', () => {
  it("follow grub.cfg's transitions for each boot_cycle", () => {
    expect(pair(grubBoot(env('A', 'install')).env)).toBe('A/stable');
    expect(pair(grubBoot(env('B', 'first_boot')).env)).toBe('B/failsafe_check');
    expect(grubBoot(env('B', 'failsafe_check'))).toMatchObject({ slot: 'A', cycle: 'stable' });
    expect(pair(grubBoot(env('B', 'failsafe_check')).env)).toBe('A/stable');
    expect(pair(grubBoot(env('A', 'failsafe_check')).env)).toBe('B/stable');
    const stable = env('B', 'stable');
    expect(grubBoot(stable).env).toBe(stable); // nothing saved
    expect(pair(grubBoot(new Map()).env)).toBe('A/stable');
  });

  it('an upgrade that confirms: A stable -> commit -> B first_boot -> B failsafe_check -> confirm -> B stable, and stays B', () => {
    const committed = commitUpgrade(env('A', 'stable'), 'A', 'grubenv');
    expect(pair(committed)).toBe('B/first_boot');
    const first = bootAndConfirm(committed, () => true);
    expect(first).toMatchObject({ slot: 'B', cycle: 'failsafe_check' });
    expect(pair(first.state)).toBe('B/stable');
    const again = bootAndConfirm(first.state, () => true);
    expect(again.slot).toBe('B');
    expect(pair(again.state)).toBe('B/stable');
  });

  it('an upgrade that never confirms falls back to the old slot, stable, on the next boot', () => {
    const committed = commitUpgrade(env('A', 'stable'), 'A', 'grubenv');
    const broken = bootAndConfirm(committed, (slot) => slot === 'A');
    expect(broken.slot).toBe('B');
    expect(pair(broken.state)).toBe('B/failsafe_check');
    const fallback = bootAndConfirm(broken.state, (slot) => slot === 'A');
    expect(fallback).toMatchObject({ slot: 'A', cycle: 'stable' });
    expect(pair(fallback.state)).toBe('A/stable');
  });

  it('a torn GRUB write (failsafe_check never reached the block) gives the new slot another boot, which may confirm', () => {
    const committed = commitUpgrade(env('A', 'stable'), 'A', 'grubenv');
    const tornBoot = grubBoot(committed); // GRUB boots B but its save_env is lost:
    expect(tornBoot.slot).toBe('B');
    expect(pair(confirmBoot(committed, 'B')!)).toBe('B/stable'); // IC-OS would leave first_boot; we repair it
    expect(grubBoot(committed).slot).toBe('B'); // without a confirm, the same boot again, never a third slot
  });

  it('a torn commit (the block never written) keeps booting the old slot, stable', () => {
    const before = env('A', 'stable');
    expect(bootAndConfirm(before, () => true)).toMatchObject({ slot: 'A', cycle: 'stable' });
  });

  it('an unknown value: boot_alternative other than B boots A, an unknown boot_cycle boots as named and is repaired by confirm', () => {
    expect(grubBoot(env('C', 'stable')).slot).toBe('A');
    const odd = env('B', 'maybe');
    expect(grubBoot(odd)).toEqual({ slot: 'B', cycle: 'maybe', env: odd });
    expect(pair(confirmBoot(odd, 'B')!)).toBe('B/stable');
  });

  it('confirm never cancels a pending upgrade, and a commit needs the running slot confirmed', () => {
    const committed = commitUpgrade(env('A', 'stable'), 'A', 'grubenv');
    expect(confirmBoot(committed, 'A')).toBeUndefined();
    expect(confirmBoot(env('A', 'stable'), 'A')).toBeUndefined();
    expect(() => commitUpgrade(env('B', 'failsafe_check'), 'B', 'grub:/grubenv')).toThrow(
      'grub:/grubenv: boot_alternative=B boot_cycle=failsafe_check while slot B runs: an upgrade needs the running slot confirmed (stable)',
    );
    expect(() => commitUpgrade(committed, 'A', 'g')).toThrow('while slot A runs');
  });
});
