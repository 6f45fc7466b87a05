import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { type Problem, throwIfProblems, UserError } from '../../errors.ts';
import { parseDeployment } from '../../ic-node/node-config.ts';
import { checkAuthorizedKeys, checkConfigIni, checkDeployment } from '../../node-install/config-check.ts';
import { checkHardware } from '../../node-install/hardware-check.ts';
import { peekArchivedImage } from '../../node-install/image-stream.ts';
import { installNode, planInstall } from '../../node-install/install.ts';
import { targetDiskBytes } from '../../node-install/target-disk.ts';
import { readRegularText } from '../../lib/input-file.ts';
import { defineCommand } from '../command.ts';

/** The verbs a node installer runs (the SetupOS medium carries them in the runtime bundle). */

/** Node configuration files are small: anything over this is not one. */
const MAX_INPUT_BYTES = 1024 * 1024;

async function readInput(file: string, flag: string): Promise<string> {
  return readRegularText(file, `--${flag} "${file}"`, { maxBytes: MAX_INPUT_BYTES });
}

/** `icos check-node-config`: every bad field of the node configuration, with file and line. */
export const checkNodeConfigCommand = defineCommand({
  command: 'check-node-config',
  describe: 'Check a node configuration (config.ini, deployment.json, SSH keys) before installing',
  builder: (y) =>
    y
      .option('config', { type: 'string', demandOption: true, describe: 'config.ini' })
      .option('deployment', { type: 'string', demandOption: true, describe: 'deployment.json' })
      .option('keys', { type: 'string', describe: 'Folder of authorized_keys files (ssh_authorized_keys/)' }),
  async run(args, deps) {
    const problems: Problem[] = [];
    problems.push(...checkConfigIni(await readInput(args.config, 'config'), args.config));
    problems.push(...checkDeployment(await readInput(args.deployment, 'deployment'), args.deployment));
    if (args.keys !== undefined) {
      const names = await readdir(args.keys).catch(() => {
        throw new UserError(`--keys "${args.keys}": not a readable folder`);
      });
      for (const name of names.sort()) {
        const file = path.join(args.keys, name);
        problems.push(...checkAuthorizedKeys(await readInput(file, 'keys'), file));
      }
    }
    throwIfProblems(problems);
    deps.log.info(`check-node-config: ${args.config} and ${args.deployment}${args.keys === undefined ? '' : ` and ${args.keys}`} are valid`);
  },
});

/** `icos check-hardware`: can this machine run the node its deployment describes. */
export const checkHardwareCommand = defineCommand({
  command: 'check-hardware',
  describe: 'Check this machine (CPU, memory, target disk) against a deployment before installing',
  builder: (y) =>
    y
      .option('deployment', { type: 'string', demandOption: true, describe: 'deployment.json' })
      .option('target', { type: 'string', demandOption: true, describe: 'The disk the node goes onto' })
      .option('archive', { type: 'string', demandOption: true, describe: 'The HostOS disk-img.tar.zst (its size)' })
      .option('proc', { type: 'string', default: '/proc', describe: 'Where cpuinfo and meminfo are read' }),
  async run(args, deps) {
    const deployment = parseDeployment(await readInput(args.deployment, 'deployment'), args.deployment);
    const image = await peekArchivedImage(args.archive, '--archive', deps.runner);
    const targetBytes = await targetDiskBytes(args.target, deps.runner);
    const machine = {
      cpuinfo: await readInput(path.join(args.proc, 'cpuinfo'), 'proc'),
      meminfo: await readInput(path.join(args.proc, 'meminfo'), 'proc'),
      target: args.target,
      targetBytes,
    };
    throwIfProblems(checkHardware(machine, deployment, args.deployment, image.realSize));
    deps.log.info(`check-hardware: CPU, memory and ${args.target} (${targetBytes} bytes) fit ${args.deployment}`);
  },
});

/** `icos install-node`: HostOS, GuestOS and the config volume onto a blank disk (node-install/install.ts). */
export const installNodeCommand = defineCommand({
  command: 'install-node',
  describe: 'Install a node onto a disk: HostOS, GuestOS into its guest volume, the config volume; partition table last',
  builder: (y) =>
    y
      .option('target', { type: 'string', demandOption: true, describe: 'The disk (block device or image file); everything on it is lost' })
      .option('node-layout', { type: 'string', demandOption: true, describe: 'The HostOS LVM names the install needs (JSON)' })
      .option('host-archive', { type: 'string', demandOption: true, describe: 'The host OS disk-img.tar.zst (written to the disk)' })
      .option('guest-archive', { type: 'string', demandOption: true, describe: 'The guest OS disk-img.tar.zst (written into the guest volume)' })
      .option('config-tree', { type: 'string', demandOption: true, describe: 'Folder that becomes the config volume' }),
  async run(args, deps) {
    const plan = await planInstall(
      { target: args.target, nodeLayoutFile: args['node-layout'], hostosArchive: args['host-archive'], guestosArchive: args['guest-archive'], configTree: args['config-tree'] },
      deps.runner,
    );
    await installNode(plan, deps);
  },
});
