import { element, renderXml, type XmlElement } from './xml.ts';

/**
 * The libvirt domain of the guest VM a HostOS runs. Two CPU variants: `kvm` is the production
 * shape of the IC-OS documents (64 vCPUs in the host's topology, host CPU passed through), `qemu`
 * is software emulation for machines without KVM (test VMs), where host passthrough does not exist.
 */

/** The topology of ic-os-docs 002 for the kvm variant: 2 sockets x 16 cores x 2 threads. */
export const KVM_TOPOLOGY = { sockets: 2, cores: 16, threads: 2 } as const;
export const KVM_VCPUS = KVM_TOPOLOGY.sockets * KVM_TOPOLOGY.cores * KVM_TOPOLOGY.threads;

export interface GuestDomainSpec {
  name: string;
  /** Fixed per node and VM, so the domain can be defined again at every boot (libvirt refuses a new UUID for a known name). */
  uuid: string;
  cpu: 'kvm' | 'qemu';
  vcpus: number;
  memoryMiB: number;
  mac: string;
  /** Block device of the guest's disk. */
  disk: string;
  /** The config medium image (FAT, label CONFIG), attached read-only with serial `config`. */
  configImage: string;
  bridge: string;
  serialLog: string;
  vsockCid: number;
  firmware: { code: string; varsTemplate: string; vars: string };
}

function cpuElements(spec: GuestDomainSpec): XmlElement[] {
  const vcpu = element('vcpu', { placement: 'static' }, String(spec.vcpus));
  if (spec.cpu === 'qemu') return [vcpu];
  return [
    vcpu,
    element(
      'cpu',
      { mode: 'host-passthrough', migratable: 'off' },
      element('cache', { mode: 'passthrough' }),
      element('topology', { ...KVM_TOPOLOGY }),
      element('feature', { policy: 'require', name: 'topoext' }),
    ),
  ];
}

/** The domain XML, byte-for-byte stable for a given spec. */
export function renderGuestDomain(spec: GuestDomainSpec): string {
  const domain = element(
    'domain',
    { type: spec.cpu },
    element('name', {}, spec.name),
    element('uuid', {}, spec.uuid),
    element('memory', { unit: 'MiB' }, String(spec.memoryMiB)),
    ...cpuElements(spec),
    element(
      'os',
      {},
      element('type', { arch: 'x86_64', machine: 'q35' }, 'hvm'),
      element('loader', { readonly: 'yes', type: 'pflash' }, spec.firmware.code),
      element('nvram', { template: spec.firmware.varsTemplate }, spec.firmware.vars),
      element('boot', { dev: 'hd' }),
    ),
    element('features', {}, element('acpi'), element('apic')),
    element('clock', { offset: 'utc' }),
    element('on_poweroff', {}, 'destroy'),
    element('on_reboot', {}, 'restart'),
    element('on_crash', {}, 'destroy'),
    element(
      'devices',
      {},
      element(
        'disk',
        { type: 'block', device: 'disk' },
        element('driver', { name: 'qemu', type: 'raw', cache: 'none', io: 'native' }),
        element('source', { dev: spec.disk }),
        element('target', { dev: 'vda', bus: 'virtio' }),
      ),
      element(
        'disk',
        { type: 'file', device: 'disk' },
        element('driver', { name: 'qemu', type: 'raw' }),
        element('source', { file: spec.configImage }),
        element('target', { dev: 'vdb', bus: 'virtio' }),
        element('readonly'),
        element('serial', {}, 'config'),
      ),
      element(
        'interface',
        { type: 'bridge' },
        element('mac', { address: spec.mac }),
        element('source', { bridge: spec.bridge }),
        element('model', { type: 'virtio' }),
      ),
      element('serial', { type: 'file' }, element('source', { path: spec.serialLog, append: 'on' }), element('target', { port: 0 })),
      element('vsock', { model: 'virtio' }, element('cid', { auto: 'no', address: spec.vsockCid })),
    ),
  );
  return renderXml(domain);
}
