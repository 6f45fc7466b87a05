import type { IcosCommand } from '../command.ts';
import { baseCommand } from './base.ts';
import { rootfsCommand } from './rootfs.ts';
import { packCommand } from './pack.ts';
import { upgradeImageCommand } from './upgrade-image.ts';
import { verityCommand } from './verity.ts';
import { lvmCommand } from './lvm.ts';
import { diskCommand } from './disk.ts';
import { validateCommand } from './validate.ts';
import { ext4Command, ext4InjectCommand } from './ext4.ts';
import { vfatCommand } from './vfat.ts';
import { configImageCommand } from './config-image.ts';
import { buildCommand } from './build.ts';

/** Every `icos` verb, listed explicitly (no directory scanning). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const COMMANDS: readonly IcosCommand<any>[] = [
  baseCommand,
  rootfsCommand,
  packCommand,
  upgradeImageCommand,
  verityCommand,
  validateCommand,
  diskCommand,
  lvmCommand,
  ext4Command,
  ext4InjectCommand,
  vfatCommand,
  configImageCommand,
  buildCommand,
];
