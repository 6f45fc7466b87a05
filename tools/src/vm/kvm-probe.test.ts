import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CommandRunner } from '../definitions.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { useTempDir } from '../../../test/support/tools.ts';
import { kvmRuns } from './kvm-probe.ts';

const runner = new ExecaCommandRunner();
const { at } = useTempDir('kvm-probe');

/** A runner whose QEMU ends with `status` (as a KVM that aborts or hangs until `timeout` ends it). */
function qemuEndingWith(status: number | 'signal'): { runner: CommandRunner; calls: string[][] } {
  const calls: string[][] = [];
  const fake: CommandRunner = {
    async run(tool, args) {
      calls.push([tool, ...args]);
      if (status === 'signal') throw new Error('timeout could not be run: Command was killed with SIGABRT');
      return { stdout: '', stderr: '', exitCode: status };
    },
    stream: (tool, args, options) => runner.stream(tool, args, options),
    interactive: (tool, args, options) => runner.interactive(tool, args, options),
  };
  return { runner: fake, calls };
}

describe('kvmRuns', () => {
  it("the probe's three instructions end the real QEMU (TCG here) through isa-debug-exit", async () => {
    writeFileSync(at('device'), '');
    expect(await kvmRuns(runner, at('device'), 'tcg')).toBe(true);
  });

  it('no device, or one this user cannot open: no KVM, and QEMU is not run', async () => {
    const { runner: fake, calls } = qemuEndingWith(3);
    expect(await kvmRuns(fake, at('no-such-device'))).toBe(false);
    expect(calls).toEqual([]);
  });

  it('a device that opens but whose QEMU aborts (SIGABRT) or hangs until timeout (124): no KVM', async () => {
    writeFileSync(at('device'), '');
    for (const status of ['signal', 124, 1, 0] as const) {
      const { runner: fake, calls } = qemuEndingWith(status);
      expect(await kvmRuns(fake, at('device'))).toBe(false);
      expect(calls[0]?.slice(0, 6)).toEqual(['timeout', '20', 'qemu-system-x86_64', '-accel', 'kvm', '-cpu']);
    }
  });
});
