import { beforeAll, describe, expect, it } from 'vitest';
import { useTempDir } from '../support/tools.ts';
import { bootUntil, efiDisk, enrolledVars, foreignSigner, REFUSED, signEfi } from '../support/secure-boot.ts';
import { SLOT_WAIT_MS } from '../support/vm-slot.ts';

// The enrolled store proven by the firmware, not by our code: under OVMF's Secure Boot code with
// //keys/test-keys:ovmf-vars-enrolled.fd, systemd's EFI stub signed with the test db key runs (it
// prints its own complaint about the missing kernel), and the same stub unsigned or signed with a
// key nobody enrolled is refused by the firmware ("Access Denied").
const { dir, at } = useTempDir('secure-boot-vars');
const STUB = '/usr/lib/systemd/boot/efi/linuxx64.efi.stub';
/** What the stub prints when it runs without a kernel inside: proof that it was started. */
const STUB_RAN = /Unable to locate embedded \.linux section/;

let vars: string;
const disks: Record<'signed' | 'unsigned' | 'foreign', string> = { signed: '', unsigned: '', foreign: '' };

beforeAll(async () => {
  vars = await enrolledVars();
  const foreign = await foreignSigner(dir);
  disks.signed = await efiDisk(await signEfi(STUB, at('signed.efi')), at('signed.img'));
  disks.unsigned = await efiDisk(STUB, at('unsigned.img'));
  disks.foreign = await efiDisk(await signEfi(STUB, at('foreign.efi'), foreign), at('foreign.img'));
}, 300_000);

describe('the OVMF variable store with the test keys enrolled', () => {
  it('runs an EFI binary signed with the test db key', async () => {
    const run = await bootUntil(disks.signed, vars, [STUB_RAN, REFUSED]);
    expect(run.matched, run.console.slice(-2000)).toBe(STUB_RAN);
    console.log(`signed stub ran after ${run.seconds} s`);
  }, SLOT_WAIT_MS + 120_000);

  it.each(['unsigned', 'foreign'] as const)('refuses the same binary %s: the firmware says Access Denied', async (which) => {
    const run = await bootUntil(disks[which], vars, [STUB_RAN, REFUSED]);
    expect(run.matched, run.console.slice(-2000)).toBe(REFUSED);
    expect(run.console).not.toMatch(STUB_RAN);
    console.log(`${which} stub refused after ${run.seconds} s`);
  }, SLOT_WAIT_MS + 120_000);
});
