import type { IcosCommand } from '../command.ts';

/** Every `icos` verb, listed explicitly (no directory scanning). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const COMMANDS: readonly IcosCommand<any>[] = [];
