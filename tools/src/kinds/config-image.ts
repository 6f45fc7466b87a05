import { open, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { describeSize, parseSize } from '../lib/size.ts';
import { networkFields, renderNetworkConf, type NetworkSettings } from './config-image/network.ts';
import { type ArtifactKind, type BuildDeps, parseOptions } from './kind.ts';
import { artifactLabel } from './rootfs-options.ts';
import { vfatKind } from './vfat.ts';
import { statRegularFile } from '../lib/input-file.ts';

/**
 * The GuestOS config device: a FAT image labelled CONFIG holding `ic-bootstrap.tar` (copied
 * as given) and `network.conf` (rendered from the network options). mount-config finds it by
 * that label (or by the disk serial `config`) and mounts it at /mnt/config.
 */

const LABEL = 'CONFIG';
const DEFAULT_SIZE = 16 * 1024 * 1024;
/** FAT metadata and the small network.conf: room kept beside the tar. */
const OVERHEAD = 1024 * 1024;

const optionsSchema = z
  .object({
    artifact: z.string().min(1),
    bootstrap: z.string().min(1),
    size: z.union([z.number().int().positive(), z.string().transform((text) => parseSize(text, '--size'))]).default(DEFAULT_SIZE),
    ...networkFields,
  })
  .strict()
  .superRefine((options, ctx) => {
    const hasStatic = [options.ipv4Address, options.ipv6Address].some((v) => v !== undefined);
    if (options.dhcp && hasStatic) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['dhcp'], message: 'DHCP and a static address exclude each other' });
    if (!options.dhcp && !hasStatic) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['ipv4Address'], message: 'give a static address (--ipv4-address or --ipv6-address) or --dhcp' });
    }
    if (options.ipv4Gateway !== undefined && options.ipv4Address === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['ipv4Gateway'], message: 'an IPv4 gateway needs --ipv4-address' });
    }
    if (options.ipv6Gateway !== undefined && options.ipv6Address === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['ipv6Gateway'], message: 'an IPv6 gateway needs --ipv6-address' });
    }
    // generate-network-config writes no default route without a gateway: the guest would be unreachable.
    if (options.ipv4Address !== undefined && options.ipv4Gateway === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['ipv4Address'], message: 'a static address needs --ipv4-gateway too' });
    }
    if (options.ipv6Address !== undefined && options.ipv6Gateway === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['ipv6Address'], message: 'a static address needs --ipv6-gateway too' });
    }
  });

export type ConfigImageOptions = z.infer<typeof optionsSchema>;

export interface ConfigImagePlan {
  artifact: string;
  bootstrap: string;
  size: number;
  networkConf: string;
}

/** Reads the first tar header's checksum field: enough to refuse a file that is not a tar. */
async function looksLikeTar(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const header = Buffer.alloc(512);
    const { bytesRead } = await handle.read(header, 0, 512, 0);
    if (bytesRead < 512) return false;
    const stored = parseInt(header.subarray(148, 156).toString('latin1').replace(/[\0 ]+$/, '').trim(), 8);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
    return stored === sum;
  } finally {
    await handle.close();
  }
}

async function plan(options: ConfigImageOptions): Promise<ConfigImagePlan> {
  const artifact = artifactLabel('config-image', options.artifact);
  const info = await statRegularFile(options.bootstrap, `${artifact}: --bootstrap "${options.bootstrap}"`);
  if (!(await looksLikeTar(options.bootstrap))) {
    throw new UserError(`${artifact}: --bootstrap "${options.bootstrap}": not a tar archive (no valid ustar header)`);
  }
  if (info.size + OVERHEAD > options.size) {
    throw new UserError(
      `${artifact}: --bootstrap "${options.bootstrap}" is ${describeSize(info.size)}: does not fit in --size ${describeSize(options.size)} with 1 MiB for FAT metadata`,
    );
  }
  const settings: NetworkSettings = { ...options };
  return { artifact, bootstrap: options.bootstrap, size: options.size, networkConf: renderNetworkConf(settings) };
}

async function build(plan: ConfigImagePlan, outPath: string, deps: BuildDeps): Promise<void> {
  await withScratchDir('config-image', async (dir) => {
    const networkConf = path.join(dir, 'network.conf');
    await writeFile(networkConf, plan.networkConf);
    const fatOptions = parseOptions(vfatKind, {
      artifact: path.basename(plan.artifact),
      size: plan.size,
      label: LABEL,
      extra: [`${plan.bootstrap}:/ic-bootstrap.tar:0644`, `${networkConf}:/network.conf:0644`],
    });
    await vfatKind.build(await vfatKind.plan(fatOptions), outPath, deps);
  });
}

/** `icos config-image`: the config device of a GuestOS VM. */
export const configImageKind: ArtifactKind<ConfigImageOptions, ConfigImagePlan> = {
  name: 'config-image',
  options: optionsSchema,
  plan,
  build,
};
