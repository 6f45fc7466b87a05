/**
 * One QEMU VM at a time across vitest workers: under TCG on two cores, two guests at once starve
 * each other into soft lockups. A VM test holds the slot (a directory made atomically, holding
 * the owner's pid) from before its VM starts until it is killed; a slot whose owner died is taken.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const SLOT = path.join(tmpdir(), 'icos-vm-slot');

/**
 * What a test that takes the slot inside its body adds to its own time limit: the longest wait
 * for another file's VM (a SetupOS install holds the slot for minutes), so the wait never times
 * the test out.
 */
export const SLOT_WAIT_MS = 30 * 60_000;

/** Whether the slot's owner is gone: its pid file names a dead process, or never appeared. */
function ownerGone(checks: number): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(SLOT, 'pid'), 'utf8'));
  } catch {
    return checks >= 3;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
}

/** Waits for the slot; returns the function that gives it back. */
export async function takeVmSlot(): Promise<() => void> {
  for (let checks = 0; ; checks++) {
    try {
      mkdirSync(SLOT);
      writeFileSync(path.join(SLOT, 'pid'), String(process.pid));
      let held = true;
      return () => {
        if (held) rmSync(SLOT, { recursive: true, force: true });
        held = false;
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      if (ownerGone(checks)) rmSync(SLOT, { recursive: true, force: true });
    }
  }
}

/**
 * How a test starts `icos launch`: the VM that holds the slot is what every other VM waits for,
 * so under TCG on two cores it gets the CPU first (nice -10, inherited by QEMU's threads) and the
 * builds and image tests of the other workers take what is left. Measured: HostOS upgrade-install
 * beside Bazel took 572 s without it, 424 s with it; a busy second core still slows the guest.
 */
export function vmLaunchCommand(icosArgs: readonly string[]): [string, string[]] {
  return ['nice', ['-n', '-10', process.execPath, ...icosArgs]];
}
