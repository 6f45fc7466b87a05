/** The QEMU command line of a GuestOS VM: TCG (no KVM needed), q35, OVMF, virtio disks and NIC. */

export interface VmSpec {
  /** Raw GuestOS disk (disk.img) or a qcow2 overlay of it. */
  disk: string;
  diskFormat?: 'raw' | 'qcow2';
  /** Config device from `icos config-image`, attached read-only with serial "config". */
  configImage?: string;
  /** MAC of the management NIC (user-mode network). */
  mac?: string;
  memory?: string;
  /** vCPUs (default 1: multi-vCPU TCG guests on a busy 2-core host hit soft lockups). */
  cpus?: number;
  /** Keep the disk unchanged: writes go to a temporary overlay that QEMU discards. */
  snapshot?: boolean;
  firmware?: string;
  /** Where the serial console goes: `stdio` (default) or a QEMU chardev spec such as `file:serial.log`. */
  serial?: string;
}

export const DEFAULT_MAC = '52:54:00:12:34:56';
export const OVMF = '/usr/share/ovmf/OVMF.fd';

/** Arguments of qemu-system-x86_64 for one VM (no display, no reboot: a reset ends QEMU). */
export function qemuArgs(spec: VmSpec): string[] {
  const snapshot = spec.snapshot ?? true;
  const args = [
    '-accel', `tcg,thread=multi`,
    '-machine', 'q35',
    '-m', spec.memory ?? '2G',
    '-smp', String(spec.cpus ?? 1),
    '-bios', spec.firmware ?? OVMF,
    '-display', 'none',
    '-no-reboot',
    '-serial', spec.serial ?? 'stdio',
    '-monitor', 'none',
    '-drive', `file=${spec.disk},format=${spec.diskFormat ?? 'raw'},if=virtio,cache=unsafe,snapshot=${snapshot ? 'on' : 'off'}`,
    '-netdev', 'user,id=mgmt',
    '-device', `virtio-net-pci,netdev=mgmt,mac=${spec.mac ?? DEFAULT_MAC}`,
  ];
  if (spec.configImage !== undefined) {
    args.push(
      '-drive', `file=${spec.configImage},format=raw,if=none,id=config,readonly=on`,
      '-device', 'virtio-blk-pci,drive=config,serial=config',
    );
  }
  return args;
}
