import type { BadInputTable } from '../case.ts';
import { configImageTable } from './config-image.ts';
import { diskTable } from './disk.ts';
import { ext4InjectTable } from './ext4-inject.ts';
import { ext4Table } from './ext4.ts';
import { lvmTable } from './lvm.ts';
import { macTable } from './mac.ts';
import { baseTable, buildTable, diffTable, launchTable, layoutTable, rootfsTable } from './misc.ts';
import { checkHardwareTable, checkNodeConfigTable, guestVmTable, installNodeTable } from './node.ts';
import { packTable } from './pack.ts';
import { reproCheckTable } from './repro-check.ts';
import { signTable, verifyTable } from './release.ts';
import { upgradeImageTable } from './upgrade-image.ts';
import { validateTable } from './validate.ts';
import { verityTable } from './verity.ts';
import { vfatTable } from './vfat.ts';
import { vsockAgentTable } from './vsock-agent.ts';

/**
 * Malformed flag values are bad command lines: status 2, as cli/command.ts's UsageError gives
 * (the tables were written with 1 for them before that rule was settled).
 */
const COMMAND_LINE_CASES: Record<string, string[]> = {
  validate: ['volumes: an --lvm-partition not in the table', 'a --disk-size not a multiple of 512'],
  disk: ['--out empty', 'a malformed --part', 'an empty --part image path', 'the same partition twice'],
  lvm: ['--out empty', 'a bad VG uuid', 'a bad PV uuid', 'a VG name with a slash', 'an empty VG name', 'a VG name of 200 characters',
    'the VG name ..', 'a malformed --volume', 'the same volume twice'],
  ext4: ['--out empty'],
  vfat: ['--out empty'],
  verity: ['--out empty', '--root-hash-out equal to --out'],
  'upgrade-image': ['--out empty'],
  'vsock-agent': ['a guest CID that is no number', 'a peer CID over 32 bits', 'a negative guest CID'],
  mac: ['a blank deployment', 'a deployment with a space', 'an empty deployment'],
  launch: ['a bad MAC', 'a bad memory size', 'zero CPUs', 'a zero timeout', '--target-size without --target', '--persist of an archive',
    '--target equal to --disk', '--ovmf-vars without --secure-boot'],
  pack: ['a duplicate member name', 'an empty member name', '--out empty'],
};

const TABLES_AS_WRITTEN: readonly BadInputTable[] = [
  validateTable, layoutTable, diskTable, lvmTable, ext4Table, ext4InjectTable, vfatTable, verityTable, configImageTable,
  vsockAgentTable, macTable, guestVmTable, launchTable, checkNodeConfigTable, checkHardwareTable, installNodeTable,
  packTable, upgradeImageTable, signTable, verifyTable, baseTable, rootfsTable, buildTable, reproCheckTable, diffTable,
];

/** One table per command of tools/src/cli/commands/registry.ts. */
export const TABLES: readonly BadInputTable[] = TABLES_AS_WRITTEN.map((table) => ({
  ...table,
  cases: table.cases.map((c) => (COMMAND_LINE_CASES[table.command]?.includes(c.name) ? { ...c, status: 2 as const } : c)),
}));
