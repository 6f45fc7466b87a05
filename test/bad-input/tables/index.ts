import type { BadInputTable } from '../case.ts';
import { configImageTable } from './config-image.ts';
import { diskTable } from './disk.ts';
import { ext4InjectTable } from './ext4-inject.ts';
import { ext4Table } from './ext4.ts';
import { lvmTable } from './lvm.ts';
import { macTable } from './mac.ts';
import { baseTable, buildTable, launchTable, layoutTable, rootfsTable } from './misc.ts';
import { checkHardwareTable, checkNodeConfigTable, guestVmTable, installNodeTable } from './node.ts';
import { packTable } from './pack.ts';
import { upgradeImageTable } from './upgrade-image.ts';
import { validateTable } from './validate.ts';
import { verityTable } from './verity.ts';
import { vfatTable } from './vfat.ts';
import { vsockAgentTable } from './vsock-agent.ts';

/** One table per command of tools/src/cli/commands/registry.ts. */
export const TABLES: readonly BadInputTable[] = [
  validateTable, layoutTable, diskTable, lvmTable, ext4Table, ext4InjectTable, vfatTable, verityTable, configImageTable,
  vsockAgentTable, macTable, guestVmTable, launchTable, checkNodeConfigTable, checkHardwareTable, installNodeTable,
  packTable, upgradeImageTable, baseTable, rootfsTable, buildTable,
];
