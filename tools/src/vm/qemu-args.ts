/**
 * The QEMU command line of one VM, from a spec: pure, so every mode is unit-tested without QEMU.
 * q35, OVMF, virtio NIC on user-mode networking, no display.
 */

/** Where the serial console goes. */
export type SerialConsole =
  /** This terminal, multiplexed with the QEMU monitor (`mon:stdio`: Ctrl-A X quits, Ctrl-A C monitor). */
  | { kind: 'terminal' }
  /** Plain stdin/stdout, no monitor: every byte reaches the guest (pipes, test harnesses). */
  | { kind: 'stdio' }
  | { kind: 'file'; path: string };

export interface SecureBootFirmware {
  /** Read-only code image with Secure Boot support. */
  code: string;
  /** A private, writable copy of a variable store (QEMU writes enrolled keys and boot entries). */
  vars: string;
}

export interface VmSpec {
  disk: string;
  diskFormat?: 'raw' | 'qcow2';
  /** Writes to `disk` go to a temporary overlay QEMU discards (default true). */
  snapshot?: boolean;
  /**
   * Install mode: `disk` is an installer on a removable USB stick, booted first, and this raw file
   * the machine's own (virtio) disk. The installer must not be virtio: it installs onto the first
   * virtio disk it finds.
   */
  target?: string;
  /** A config medium (`icos config-image`), attached read-only as a virtio disk with serial "config". */
  configImage?: string;
  /** A further raw disk, read-only, with serial "medium" (/dev/disk/by-id/virtio-medium): e.g. an upgrade image's file system. */
  medium?: string;
  /** MAC of the NIC (user-mode network). */
  mac?: string;
  /** QEMU `-m` value, e.g. 2048M. */
  memory?: string;
  /** vCPUs (default 1: multi-vCPU TCG guests on a busy 2-core host hit soft lockups). */
  cpus?: number;
  console?: SerialConsole;
  /** Let a guest reboot; by default a reset ends QEMU (tests see the end, installs stop after installing). */
  allowReboot?: boolean;
  /** /dev/kvm is usable: hardware virtualisation with the host's CPU; else TCG. */
  kvm?: boolean;
  /** Secure Boot firmware (SMM, secure pflash); without it the plain OVMF `firmware`. */
  secureBoot?: SecureBootFirmware;
  firmware?: string;
}

export const DEFAULT_MAC = '52:54:00:12:34:56';
export const OVMF = '/usr/share/ovmf/OVMF.fd';
export const OVMF_SECURE_BOOT_CODE = '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd';
/** Microsoft's keys enrolled: what a stock machine has. */
export const OVMF_SECURE_BOOT_VARS = '/usr/share/OVMF/OVMF_VARS_4M.ms.fd';

/** A path inside a `key=value,...` option: QEMU reads a doubled comma as a literal one. */
export function optionPath(file: string): string {
  return file.replaceAll(',', ',,');
}

/**
 * The machine and firmware of Secure Boot: q35 with SMM, the code read-only and the variable store
 * (which QEMU writes: give it a private copy) as secure pflash. Also used by the enrolment boot.
 */
export function secureBootArgs(firmware: SecureBootFirmware): string[] {
  return [
    // The variable store may only be written from SMM: what makes Secure Boot's keys tamper-proof.
    '-machine', 'q35,smm=on',
    '-global', 'driver=cfi.pflash01,property=secure,value=on',
    '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${optionPath(firmware.code)}`,
    '-drive', `if=pflash,format=raw,unit=1,file=${optionPath(firmware.vars)}`,
  ];
}

function firmwareArgs(spec: VmSpec): string[] {
  if (spec.secureBoot === undefined) return ['-machine', 'q35', '-bios', spec.firmware ?? OVMF];
  return secureBootArgs(spec.secureBoot);
}

function consoleArgs(console: SerialConsole): string[] {
  switch (console.kind) {
    case 'terminal':
      return ['-serial', 'mon:stdio'];
    case 'stdio':
      return ['-serial', 'stdio', '-monitor', 'none'];
    case 'file':
      return ['-serial', `file:${optionPath(console.path)}`, '-monitor', 'none'];
  }
}

function diskArgs(spec: VmSpec): string[] {
  const disk = `file=${optionPath(spec.disk)},format=${spec.diskFormat ?? 'raw'},cache=unsafe,snapshot=${spec.snapshot ?? true ? 'on' : 'off'}`;
  if (spec.target === undefined) return ['-drive', `${disk},if=virtio`];
  return [
    '-device', 'qemu-xhci,id=xhci',
    '-drive', `${disk},if=none,id=installer`,
    '-device', 'usb-storage,bus=xhci.0,drive=installer,removable=on,bootindex=0',
    // Writes to the target are the point of installing: never a snapshot.
    '-drive', `file=${optionPath(spec.target)},format=raw,cache=unsafe,if=none,id=target`,
    '-device', 'virtio-blk-pci,drive=target,bootindex=1',
  ];
}

/** Arguments of qemu-system-x86_64 for one VM. */
export function qemuArgs(spec: VmSpec): string[] {
  const args = [
    ...(spec.kvm === true ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi']),
    ...firmwareArgs(spec),
    '-m', spec.memory ?? '2G',
    '-smp', String(spec.cpus ?? 1),
    '-display', 'none',
    ...(spec.allowReboot === true ? [] : ['-no-reboot']),
    ...consoleArgs(spec.console ?? { kind: 'stdio' }),
    ...diskArgs(spec),
    '-netdev', 'user,id=mgmt',
    '-device', `virtio-net-pci,netdev=mgmt,mac=${spec.mac ?? DEFAULT_MAC}`,
  ];
  if (spec.configImage !== undefined) {
    // After the target's device: the guest enumerates virtio disks in PCI order.
    args.push(
      '-drive', `file=${optionPath(spec.configImage)},format=raw,if=none,id=config,readonly=on`,
      '-device', 'virtio-blk-pci,drive=config,serial=config',
    );
  }
  if (spec.medium !== undefined) {
    args.push(
      '-drive', `file=${optionPath(spec.medium)},format=raw,if=none,id=medium,readonly=on`,
      '-device', 'virtio-blk-pci,drive=medium,serial=medium',
    );
  }
  return args;
}
