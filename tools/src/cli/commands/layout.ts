import { resolveLayout } from '../../os/layout.ts';
import { checkOs, osList, OS_LIST_FILE } from '../../os/os-list.ts';
import { defineCommand, UsageError } from '../command.ts';

/**
 * `icos layout`: an OS's image description resolved against its tables, as JSON: every partition
 * and volume with its size and fill, derived offsets, and the layout facts components use. With
 * `--all`, every OS of envs/oses.json (what the Bazel repository @icos_oses reads).
 */
export const layoutCommand = defineCommand({
  command: 'layout',
  describe: 'Print an OS image description resolved against its partition and volume tables (JSON)',
  builder: (y) =>
    y
      .option('os', { type: 'string', describe: `Operating system of ${OS_LIST_FILE}` })
      .option('all', { type: 'boolean', default: false, describe: `Every OS of ${OS_LIST_FILE}: {"oses": [...], "layouts": {...}}` })
      .option('extra', { type: 'string', array: true, default: [] as string[], describe: 'With --all: NAME=DESCRIPTION another layout (not an OS), e.g. a test env' }),
  async run(args) {
    if (args.all === (args.os !== undefined)) throw new UsageError('layout: give exactly one of --os OS and --all');
    if (!args.all && args.extra.length > 0) throw new UsageError('layout: --extra adds layouts to --all, not to --os');
    if (args.os !== undefined) {
      process.stdout.write(`${JSON.stringify(await resolveLayout(checkOs(args.os, '--os')), null, 2)}\n`);
      return;
    }
    const oses = osList();
    const layouts: Record<string, unknown> = {};
    for (const os of oses) layouts[os] = await resolveLayout(os);
    for (const extra of args.extra) {
      const match = /^([a-z][a-z0-9-]*)=(.+)$/.exec(extra);
      if (match === null) throw new UsageError(`--extra "${extra}": expected NAME=path/to/os.json`);
      if (match[1]! in layouts) throw new UsageError(`--extra "${extra}": "${match[1]}" is already a layout`);
      layouts[match[1]!] = await resolveLayout(match[1]!, undefined, match[2]!);
    }
    process.stdout.write(`${JSON.stringify({ oses, layouts }, null, 2)}\n`);
  },
});
