import type { IcosCommand } from '../command.ts';
import { lvmCommand } from './lvm.ts';
import { validateCommand } from './validate.ts';

/** Every `icos` verb, listed explicitly (no directory scanning). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const COMMANDS: readonly IcosCommand<any>[] = [
  validateCommand,
  lvmCommand,
];
