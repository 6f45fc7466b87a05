import { deterministicMac, type IpVersion, NODE_TYPES, type NodeType, normaliseMac } from '../../ic-node/deterministic-mac.ts';
import { defineCommand, UsageError } from '../command.ts';

/** `icos mac`: the deterministic MAC of one node interface, for operators, HostOS and tests. */
export const macCommand = defineCommand({
  command: 'mac',
  describe: "Print the IC's deterministic MAC of a node interface (from the management MAC and the deployment)",
  builder: (y) =>
    y
      .option('mgmt-mac', { type: 'string', demandOption: true, describe: 'Management MAC: upper or lower case, colons or dashes' })
      .option('deployment', { type: 'string', demandOption: true, describe: 'Deployment name (mainnet, testnet, ...)' })
      .option('node-type', { type: 'string', choices: NODE_TYPES, demandOption: true, describe: 'Which node the interface belongs to' })
      .option('ip-version', { type: 'number', choices: [4, 6], demandOption: true, describe: 'Address family of the interface' }),
  async run(args) {
    const deployment = args.deployment.trim();
    if (deployment === '' || /\s/.test(deployment)) {
      throw new UsageError(`--deployment "${args.deployment}": expected one word, e.g. mainnet`);
    }
    const mac = deterministicMac({
      mgmtMac: normaliseMac(args['mgmt-mac'], '--mgmt-mac'),
      deployment,
      nodeType: args['node-type'] as NodeType,
      ipVersion: args['ip-version'] as IpVersion,
    });
    process.stdout.write(`${mac}\n`);
  },
});
