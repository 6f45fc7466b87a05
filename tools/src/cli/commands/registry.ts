import type { IcosCommand } from '../command.ts';
import { baseCommand } from './base.ts';
import { buildCommand } from './build.ts';
import { configImageCommand } from './config-image.ts';
import { diffCommand } from './diff.ts';
import { diskCommand } from './disk.ts';
import { ext4Command, ext4InjectCommand } from './ext4.ts';
import { guestVmCommand } from './guest-vm.ts';
import { layoutCommand } from './layout.ts';
import { launchCommand } from './launch.ts';
import { lvmCommand } from './lvm.ts';
import { macCommand } from './mac.ts';
import { checkHardwareCommand, checkNodeConfigCommand, installNodeCommand } from './node-install.ts';
import { packCommand } from './pack.ts';
import { reproCheckCommand } from './repro-check.ts';
import { rootfsCommand } from './rootfs.ts';
import { signCommand } from './sign.ts';
import { upgradeImageCommand } from './upgrade-image.ts';
import { validateCommand } from './validate.ts';
import { verifyCommand } from './verify.ts';
import { verityCommand } from './verity.ts';
import { vfatCommand } from './vfat.ts';
import { vsockAgentCommand } from './vsock-agent.ts';

/**
 * Every `icos` verb, listed explicitly (no directory scanning), in the order `--help` shows them:
 * tables, images, packing, containers, then the manifest entry point Bazel uses.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const COMMANDS: readonly IcosCommand<any>[] = [
  validateCommand,
  layoutCommand,
  diskCommand,
  lvmCommand,
  ext4Command,
  ext4InjectCommand,
  vfatCommand,
  verityCommand,
  configImageCommand,
  vsockAgentCommand,
  macCommand,
  guestVmCommand,
  launchCommand,
  checkNodeConfigCommand,
  checkHardwareCommand,
  installNodeCommand,
  packCommand,
  upgradeImageCommand,
  signCommand,
  verifyCommand,
  baseCommand,
  rootfsCommand,
  buildCommand,
  diffCommand,
  reproCheckCommand,
];
