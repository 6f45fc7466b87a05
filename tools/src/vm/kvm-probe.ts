import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from '../definitions.ts';
import { withScratchDir } from '../lib/atomic-output.ts';

/** isa-debug-exit ends QEMU with (value << 1) | 1: the probe writes 1. */
const PROBE_EXIT_STATUS = 3;
const PROBE_SECONDS = 20;
const FIRMWARE_BYTES = 64 * 1024;
/** At the reset vector (the firmware's last 16 bytes, real mode): mov al, 1; out 0xf4, al; hlt. */
const RESET_VECTOR_CODE = [0xb0, 0x01, 0xe6, 0xf4, 0xf4];

/** The QEMU command line of the probe: only the accelerator differs between KVM and TCG. */
function probeArgs(firmware: string, accel: 'kvm' | 'tcg'): string[] {
  return [
    String(PROBE_SECONDS), 'qemu-system-x86_64',
    '-accel', accel, ...(accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-machine', 'pc', '-nodefaults', '-display', 'none', '-no-reboot', '-m', '16',
    '-bios', firmware, '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04',
  ];
}

/**
 * Whether KVM runs a guest here. /dev/kvm can exist and open read-write and still fail at the
 * first instruction (a cloud VM without working nested virtualisation): QEMU then aborts ("failed
 * to set MSR") or stops with "KVM internal error" and hangs, so opening the device proves nothing.
 * The probe boots three instructions that tell QEMU's isa-debug-exit device to end QEMU: any other
 * ending within PROBE_SECONDS means TCG. It costs well under a second.
 */
export async function kvmRuns(runner: CommandRunner, device = '/dev/kvm', accel: 'kvm' | 'tcg' = 'kvm'): Promise<boolean> {
  try {
    await access(device, constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  return withScratchDir('kvm-probe', async (dir) => {
    const firmware = Buffer.alloc(FIRMWARE_BYTES);
    firmware.set(RESET_VECTOR_CODE, FIRMWARE_BYTES - 16);
    const file = path.join(dir, 'probe.rom');
    await writeFile(file, firmware);
    const everyStatus = Array.from({ length: 256 }, (_, status) => status);
    // A QEMU that aborts kills `timeout` with the same signal, which the runner reports as an error.
    const result = await runner.run('timeout', probeArgs(file, accel), { okExitCodes: everyStatus, artifact: 'kvm-probe' }).catch(() => undefined);
    return result?.exitCode === PROBE_EXIT_STATUS;
  });
}
