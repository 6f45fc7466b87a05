import { existsSync } from 'node:fs';
import { buildGuestVm, planGuestVm } from '../../ic-node/guest-vm.ts';
import { UserError } from '../../errors.ts';
import { readRegularText } from '../../lib/input-file.ts';
import { defineCommand } from '../command.ts';

/** `icos guest-vm`: a HostOS's guest VM (libvirt domain + config medium) from the node config. */
export const guestVmCommand = defineCommand({
  command: 'guest-vm',
  describe: 'Write the guest VM a HostOS runs: its libvirt domain and config medium, from the node config',
  builder: (y) =>
    y
      .option('vm', { type: 'string', demandOption: true, describe: 'The VM description (JSON) the HostOS image carries' })
      .option('config-dir', { type: 'string', demandOption: true, describe: 'The node config (deployment.json, config.ini, keys)' })
      .option('out-dir', { type: 'string', demandOption: true, describe: 'Where <name>.xml and config.img are written (atomically)' })
      .option('nic-mac', { type: 'string', describe: "Management MAC when deployment.json has none (the first NIC's)" })
      .option('kvm-device', { type: 'string', default: '/dev/kvm', describe: 'KVM exists when this exists (else the qemu variant)' }),
  async run(args, deps) {
    const text = await readRegularText(args.vm, `--vm "${args.vm}"`, { maxBytes: 1024 * 1024 });
    const plan = await planGuestVm({
      description: { file: args.vm, text },
      configDir: args['config-dir'],
      outDir: args['out-dir'],
      nicMac: args['nic-mac'],
      kvmAvailable: existsSync(args['kvm-device']),
    });
    await buildGuestVm(plan, deps);
    const { domain } = plan;
    deps.log.info(
      `guest-vm: ${plan.domainFile}: ${domain.name}, ${domain.cpu} variant (${plan.variantReason}), ${domain.vcpus} vCPU, ${domain.memoryMiB} MiB, MAC ${domain.mac}, vsock CID ${domain.vsockCid}`,
    );
    deps.log.info(`guest-vm: ${domain.configImage}: config medium (${plan.configImage.dhcp ? 'DHCP' : plan.configImage.ipv6Address}; ${plan.bootstrapMembers.length} bootstrap file(s))`);
  },
});
