import { launch } from '../../vm/launch.ts';
import { kvmRuns } from '../../vm/kvm-probe.ts';
import { parseLaunchFlags } from '../../vm/launch-request.ts';
import { defineCommand } from '../command.ts';

/** `icos launch`: boots a disk image in QEMU for people, `bazel run //envs/<os>/<env>:launch` and the test harness. */
export const launchCommand = defineCommand({
  command: 'launch',
  describe: 'Boot a disk image in QEMU (raw, qcow2 or disk-img.tar.zst), console on this terminal (Ctrl-A X quits) or in a file',
  builder: (y) =>
    y
      .option('disk', { type: 'string', demandOption: true, describe: 'Raw disk, qcow2, or a disk-img.tar.zst (unpacked into a scratch copy)' })
      .option('target', { type: 'string', describe: 'Install mode: --disk is a USB stick booted first, FILE the virtio disk it installs onto (created sparse if missing, kept)' })
      .option('target-size', { type: 'string', describe: 'Size of a --target that does not exist yet (default 128G)' })
      .option('config', { type: 'string', describe: 'config.ini written to the disk\'s CONFIG partition (a copy unless --persist), or else a config medium (icos config-image)' })
      .option('medium', { type: 'string', describe: 'A raw disk image attached read-only with serial "medium" (/dev/disk/by-id/virtio-medium), e.g. a file system holding an upgrade image' })
      .option('mac', { type: 'string', describe: 'MAC of the NIC (default 52:54:00:12:34:56)' })
      .option('memory', { type: 'string', describe: 'Guest memory, e.g. 2G or 512M (default 2G)' })
      .option('cpus', { type: 'string', describe: 'vCPUs (default 1)' })
      .option('serial-log', { type: 'string', describe: 'Write the serial console to this file instead of the terminal' })
      .option('persist', { type: 'boolean', describe: 'Write to --disk itself (raw or qcow2); by default writes are discarded' })
      .option('timeout', { type: 'string', describe: 'Stop the VM after this many seconds and exit 124' })
      .option('secure-boot', { type: 'boolean', describe: 'Secure Boot firmware (OVMF secboot code, a private copy of the variable store)' })
      .option('ovmf-vars', { type: 'string', alias: 'vars', describe: 'Variable store to copy with --secure-boot (default: --default-ovmf-vars, else OVMF_VARS_4M.ms.fd, Microsoft keys)' })
      .option('default-ovmf-vars', { type: 'string', describe: 'The store --secure-boot copies when --ovmf-vars is not given (`bazel run :launch` names the test keys\' one); ignored without --secure-boot' })
      .option('allow-reboot', { type: 'boolean', describe: 'Let the guest reboot (by default a reboot ends QEMU)' }),
  async run(args, deps) {
    const request = parseLaunchFlags(args);
    return launch(request, { kvm: await kvmRuns(deps.runner), terminal: process.stdin.isTTY === true }, deps.runner, deps.log);
  },
});
