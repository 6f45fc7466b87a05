import { UserError } from '../../errors.ts';
import { makeArtifact } from '../../kinds/kind.ts';
import { configImageKind } from '../../kinds/config-image.ts';
import { artifactLabel } from '../../kinds/rootfs-options.ts';
import { quoted } from '../../messages.ts';
import { defineCommand } from '../command.ts';

/**
 * Checks the options as the kind will, but names each bad one by its flag and value
 * (`--ipv6-address "fe80::1%eth0/64": ...`) rather than by the kind's option name.
 */
function checkFlags(raw: Record<string, unknown>): void {
  const parsed = configImageKind.options.safeParse(raw);
  if (parsed.success) return;
  const lines = parsed.error.issues.map((issue) => {
    const [option, index] = issue.path;
    const flag = `--${String(option ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    const value = typeof index === 'number' ? (raw[String(option)] as unknown[])[index] : raw[String(option)];
    const shown = typeof value === 'string' ? ` ${quoted(value)}` : '';
    return `${artifactLabel('config-image', String(raw.artifact))}: ${flag}${shown}: ${issue.message}`;
  });
  throw new UserError(lines.join('\n'));
}

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
    const options = {
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
    };
    checkFlags(options);
    await makeArtifact(configImageKind, options, args.out, deps);
  },
});
