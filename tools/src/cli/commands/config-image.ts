import { makeArtifact } from '../../kinds/kind.ts';
import { configImageKind } from '../../kinds/config-image.ts';
import { defineCommand } from '../command.ts';

/** `icos config-image`: the GuestOS config device from ic-bootstrap.tar and network settings. */
export const configImageCommand = defineCommand({
  command: 'config-image',
  describe: 'Write a GuestOS config device (FAT, label CONFIG): ic-bootstrap.tar plus network.conf',
  builder: (y) =>
    y
      .option('out', { type: 'string', demandOption: true, describe: 'Image to write (atomically)' })
      .option('bootstrap', { type: 'string', demandOption: true, describe: 'ic-bootstrap.tar, copied to the device as is' })
      .option('size', { type: 'string', default: '16M', describe: 'Device size (bytes or K/M/G/T)' })
      .option('ipv4-address', { type: 'string', describe: 'Static IPv4 address with prefix, e.g. 10.0.2.15/24' })
      .option('ipv4-gateway', { type: 'string', describe: 'IPv4 default gateway' })
      .option('ipv6-address', { type: 'string', describe: 'Static IPv6 address with prefix, e.g. 2001:db8::10/64' })
      .option('ipv6-gateway', { type: 'string', describe: 'IPv6 default gateway' })
      .option('dns', { type: 'string', array: true, describe: 'DNS server address (repeatable)' })
      .option('dhcp', { type: 'boolean', default: false, describe: 'Configure the interface by DHCP instead of a static address' })
      .option('mgmt-mac', { type: 'string', describe: 'Management MAC: the hostname becomes replica-<mac without colons>' }),
  async run(args, deps) {
    await makeArtifact(
      configImageKind,
      {
        artifact: args.out,
        bootstrap: args.bootstrap,
        size: args.size,
        ipv4Address: args['ipv4-address'],
        ipv4Gateway: args['ipv4-gateway'],
        ipv6Address: args['ipv6-address'],
        ipv6Gateway: args['ipv6-gateway'],
        dns: args.dns,
        dhcp: args.dhcp,
        mgmtMac: args['mgmt-mac'],
      },
      args.out,
      deps,
    );
  },
});
