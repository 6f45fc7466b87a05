import { readFile, rm, writeFile } from 'node:fs/promises';
import { UserError } from '../errors.ts';
import { writeAtomically } from '../lib/atomic-output.ts';
import { displayPath, parsePinText, type PinnedReference, pinText, readPin } from './base-pins.ts';

/**
 * Untracked local stand-ins for pinned bases. A machine that cannot get a pinned image (its
 * registry lacks the digest and none was imported) builds the base itself; the new digest goes to
 * `<pin file>.local` (git-ignored), never to the tracked pin, so the checkout stays clean and
 * everything built on it is known not to be built on the pinned base.
 */

/** The untracked override beside a tracked pin file. */
export function localPinFile(pinFile: string): string {
  return `${pinFile}.local`;
}

/** The base a build uses: the tracked pin, or its local stand-in when one exists. */
export interface EffectivePin {
  pinFile: string;
  tracked: PinnedReference;
  /** The locally built stand-in, when the pinned image could not be had on this machine. */
  local?: PinnedReference;
  /** What to build on: `local` if set, else `tracked`. */
  use: PinnedReference;
  /** The file `use` came from, for messages. */
  source: string;
}

const REPLACES = /^# replaces (\S+)$/m;

/** A stand-in made for another tracked pin than the current one: ensure replaces it, builds refuse it. */
export class StaleLocalPin extends UserError {}

/** The text of a local pin: which tracked pin it stands in for, and the local image. */
export function localPinText(tracked: PinnedReference, local: PinnedReference): string {
  return [
    '# Untracked: made by `icos base ensure` because the registry lacked the pinned image.',
    '# Images built on this base do not match the pinned ones. `icos base import` or a registry',
    '# that holds the pinned image, then `icos base ensure`, removes this file.',
    `# replaces ${tracked.reference}`,
    local.reference,
    '',
  ].join('\n');
}

/**
 * Reads a tracked pin and its local stand-in. A stand-in made for another tracked pin (the
 * checkout moved on since) is refused: it would silently build on an unrelated base.
 */
export async function readEffectivePin(pinFile: string, hint?: string): Promise<EffectivePin> {
  const tracked = await readPin(pinFile, hint);
  const file = localPinFile(pinFile);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { pinFile, tracked, use: tracked, source: displayPath(pinFile) };
    throw error;
  }
  const local = parsePinText(file, text);
  const replaces = REPLACES.exec(text)?.[1];
  if (replaces !== tracked.reference) {
    throw new StaleLocalPin(
      `${displayPath(file)}: local base made for ${replaces ?? '(no "# replaces" line)'}, but ${displayPath(pinFile)} pins ${tracked.reference}`,
      'icos base ensure gets the pinned image or makes a new local one',
    );
  }
  return { pinFile, tracked, local, use: local, source: displayPath(file) };
}

export async function writeLocalPin(pinFile: string, tracked: PinnedReference, local: PinnedReference): Promise<void> {
  await writeAtomically(localPinFile(pinFile), (temp) => writeFile(temp, localPinText(tracked, local)));
}

export async function removeLocalPin(pinFile: string): Promise<void> {
  await rm(localPinFile(pinFile), { force: true });
}

/**
 * Where a freshly built base is recorded: `tracked` rewrites the pin (base build, refresh,
 * bootstrap: a deliberate change to review) and drops any stand-in; `local` leaves the pin and
 * writes the stand-in (base ensure on a machine without the pinned image).
 */
export type PinRecord = 'tracked' | 'local';

export async function recordPin(pinFile: string, built: PinnedReference, record: PinRecord): Promise<void> {
  if (record === 'local') {
    await writeLocalPin(pinFile, await readPin(pinFile), built);
    return;
  }
  await writeAtomically(pinFile, (temp) => writeFile(temp, pinText(built)));
  await removeLocalPin(pinFile);
}
