import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { type BuildDeps, parseOptions } from '../kinds/kind.ts';
import { configImageKind } from '../kinds/config-image.ts';
import { ValidationError, UserError } from '../errors.ts';
import { withScratchDir, writeAtomically } from '../lib/atomic-output.ts';
import { deterministicMac, NODE_TYPES, type NodeType, normaliseMac } from './deterministic-mac.ts';
import { type GuestDomainSpec, KVM_TOPOLOGY, KVM_VCPUS, renderGuestDomain } from './guest-domain.ts';
import { parseConfigIni, parseDeployment, parseJsonFile, slaacAddress } from './node-config.ts';

/**
 * `icos guest-vm`: what a HostOS needs to run its guest VM, made at every boot from the node
 * config: the libvirt domain (`<name>.xml`) and the guest's config medium (`config.img`, the
 * format `icos config-image` writes, so the guest's mount-config finds it).
 *
 * The VM's fixed facts (name, node type, disk, bridge, CID, paths) come from a description file
 * the HostOS image carries; the node-specific ones (memory, CPU variant, MAC, addresses) from the
 * config volume.
 */

/** The guest VM description a HostOS image carries (components). */
export const vmDescriptionSchema = z
  .object({
    $comment: z.string().optional(),
    name: z.string().regex(/^[a-z][a-z0-9-]*$/),
    nodeType: z.enum(NODE_TYPES as [NodeType, ...NodeType[]]),
    disk: z.string().startsWith('/'),
    bridge: z.string().min(1),
    vsockCid: z.number().int().min(3),
    serialLog: z.string().startsWith('/'),
    defaultQemuVcpus: z.number().int().min(1),
    firmware: z.object({ code: z.string().startsWith('/'), varsTemplate: z.string().startsWith('/'), vars: z.string().startsWith('/') }).strict(),
  })
  .strict();
export type VmDescription = z.infer<typeof vmDescriptionSchema>;

export interface GuestVmInputs {
  /** The description file and its text. */
  description: { file: string; text: string };
  configDir: string;
  /** Where the domain and the config medium go (the domain names the medium by this path). */
  outDir: string;
  /** The first NIC's MAC, used when deployment.json records no management MAC. */
  nicMac?: string;
  kvmAvailable: boolean;
}

export interface GuestVmPlan {
  domain: GuestDomainSpec;
  domainFile: string;
  configDir: string;
  /** Why the CPU variant was chosen, for the journal. */
  variantReason: string;
  /** Config-volume file -> its name in ic-bootstrap.tar. */
  bootstrapMembers: { source: string; member: string }[];
  configImage: { ipv6Address?: string; ipv6Gateway?: string; dhcp: boolean; mgmtMac: string };
}

async function readOptional(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
}

/** Bootstrap members taken from the config volume when present (bootstrap-ic-node's known names). */
const BOOTSTRAP_SOURCES: [string, string][] = [
  ['ssh_authorized_keys/admin', 'accounts_ssh_authorized_keys/admin'],
  ['ssh_authorized_keys/readonly', 'accounts_ssh_authorized_keys/readonly'],
  ['ssh_authorized_keys/backup', 'accounts_ssh_authorized_keys/backup'],
  ['nns_public_key.pem', 'nns_public_key.pem'],
];

/** RFC 4122 URL namespace: the name below is a URL-like string of ours. */
const URL_NAMESPACE = Buffer.from('6ba7b8119dad11d180b400c04fd430c8', 'hex');

/** A name-based (version 5) UUID: the same machine and VM give the same domain UUID on every boot. */
export function domainUuid(mgmtMac: string, vmName: string): string {
  const hash = createHash('sha1').update(URL_NAMESPACE).update(`icos:guest-vm:${mgmtMac}:${vmName}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Reads and checks everything; writes nothing. */
export async function planGuestVm(inputs: GuestVmInputs): Promise<GuestVmPlan> {
  // Checked even when deployment.json has a management MAC: a malformed flag is never ignored.
  const nicMac = inputs.nicMac === undefined ? undefined : normaliseMac(inputs.nicMac, '--nic-mac');
  const vm = parseJsonFile(inputs.description.text, inputs.description.file, vmDescriptionSchema);
  const deploymentFile = path.join(inputs.configDir, 'deployment.json');
  const deploymentText = await readOptional(deploymentFile);
  if (deploymentText === undefined) throw new UserError(`${deploymentFile}: missing: the guest VM's deployment name and resources come from it`);
  const deployment = parseDeployment(deploymentText, deploymentFile);
  const iniFile = path.join(inputs.configDir, 'config.ini');
  const network = parseConfigIni((await readOptional(iniFile)) ?? '', iniFile);

  const mgmtMac = deployment.mgmtMac ?? nicMac;
  if (mgmtMac === undefined) throw new UserError(`${deploymentFile}: deployment.mgmt_mac is null and no --nic-mac was given: no management MAC to derive the guest's MAC from`);
  const mac = deterministicMac({ mgmtMac, deployment: deployment.name, nodeType: vm.nodeType, ipVersion: 6 });

  const cpu = deployment.cpu === 'kvm' && inputs.kvmAvailable ? 'kvm' : 'qemu';
  const variantReason = deployment.cpu === 'qemu' ? 'resources.cpu is "qemu"' : inputs.kvmAvailable ? 'KVM is available' : 'resources.cpu is "kvm" but this machine has no /dev/kvm';
  if (cpu === 'kvm' && deployment.vcpus !== undefined && deployment.vcpus !== KVM_VCPUS) {
    throw new ValidationError([{ file: deploymentFile, column: 'resources.vcpus', message: `${deployment.vcpus}: the kvm variant has the fixed topology of ${KVM_VCPUS} vCPUs (${KVM_TOPOLOGY.sockets} sockets x ${KVM_TOPOLOGY.cores} cores x ${KVM_TOPOLOGY.threads} threads)` }]);
  }
  const vcpus = cpu === 'kvm' ? KVM_VCPUS : (deployment.vcpus ?? vm.defaultQemuVcpus);

  const bootstrapMembers: GuestVmPlan['bootstrapMembers'] = [];
  for (const [source, member] of BOOTSTRAP_SOURCES) {
    if ((await stat(path.join(inputs.configDir, source)).catch(() => undefined))?.isFile()) bootstrapMembers.push({ source, member });
  }
  if (network.ipv6Prefix !== undefined && network.ipv6Gateway === undefined) {
    throw new ValidationError([{ file: iniFile, column: 'ipv6_gateway', message: 'missing: a static address (ipv6_prefix) needs its gateway' }]);
  }
  const configImage =
    network.ipv6Prefix === undefined
      ? { dhcp: true, mgmtMac }
      : { dhcp: false, mgmtMac, ipv6Address: `${slaacAddress(network.ipv6Prefix, mac)}/64`, ipv6Gateway: network.ipv6Gateway };

  return {
    domain: {
      name: vm.name,
      uuid: domainUuid(mgmtMac, vm.name),
      cpu,
      vcpus,
      memoryMiB: deployment.memoryMiB,
      mac,
      disk: vm.disk,
      configImage: path.join(inputs.outDir, 'config.img'),
      bridge: vm.bridge,
      serialLog: vm.serialLog,
      vsockCid: vm.vsockCid,
      firmware: vm.firmware,
    },
    domainFile: path.join(inputs.outDir, `${vm.name}.xml`),
    configDir: inputs.configDir,
    variantReason,
    bootstrapMembers,
    configImage,
  };
}

/** Writes the config medium, then the domain that names it, each atomically. */
export async function buildGuestVm(plan: GuestVmPlan, deps: BuildDeps): Promise<void> {
  const configImage = plan.domain.configImage;
  await withScratchDir('guest-vm', async (dir) => {
    const staging = path.join(dir, 'bootstrap');
    await deps.runner.run('mkdir', ['-p', staging]);
    for (const { source, member } of plan.bootstrapMembers) {
      await deps.runner.run('install', ['-D', '-m', '0644', path.join(plan.configDir, source), path.join(staging, member)]);
    }
    const bootstrap = path.join(dir, 'ic-bootstrap.tar');
    // Same bytes for the same config: sorted, numeric owner 0, fixed mtime.
    await deps.runner.run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=gnu', '-cf', bootstrap, '-C', staging, '.']);
    const options = parseOptions(configImageKind, { artifact: configImage, bootstrap, ...plan.configImage });
    const imagePlan = await configImageKind.plan(options);
    await writeAtomically(configImage, (temp) => configImageKind.build(imagePlan, temp, deps));
  });
  const xml = renderGuestDomain(plan.domain);
  await writeAtomically(plan.domainFile, (temp) => writeFile(temp, xml));
}
