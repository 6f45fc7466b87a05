import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the GuestOS inputs live in the repository, and the IC-OS parameters of its images. */

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const ICOS_BIN = path.join(REPO, 'bin/icos.mjs');

export const GUESTOS_ENVS = ['prod', 'dev', 'dev-malicious'] as const;
export type GuestOsEnv = (typeof GUESTOS_ENVS)[number];

/** The container build (`icos rootfs --env`) an env's root tree comes from. */
export function containerEnvOf(env: GuestOsEnv): 'prod' | 'dev' {
  return env === 'prod' ? 'prod' : 'dev';
}

export const INPUTS = {
  context: path.join(REPO, 'envs/guestos/context'),
  components: path.join(REPO, 'components'),
  bootloader: path.join(REPO, 'components/bootloader'),
  standIns: path.join(REPO, 'components/guestos/stand-ins'),
  partitions: path.join(REPO, 'partitions/guestos/partitions.csv'),
  upstreamPin: path.join(REPO, 'envs/upstream/docker-base.bookworm'),
  assembler: path.join(REPO, 'tools/guestos'),
} as const;

/** IC-OS dm-verity parameters (facts 4.6): the hash tree sits 128 MiB before the end of the 10 GiB root. */
export const VERITY = {
  hashOffset: '10603200512',
  salt: '89bc06702975f10b41dd53e26eb9aef0adde93bc13d73e8f26b496dddefe2483',
  uuid: '1736291d-aceb-42d7-b044-43ee31d86cd4',
} as const;

/** Sizes from the GuestOS image_deps (facts 2.3) and the partition table. */
export const SIZES = { root: '3G', boot: '1G', esp: '100M', grub: '100M', config: '100M', disk: '50G' } as const;

/** Paths removed from the root image: they are separate partitions or tmpfs at run time. */
export const ROOT_STRIP = ['/boot', '/var', '/run', '/tmp'] as const;

/** The version the stand-ins report when none is given: IC-OS's fake version, forty zeros. */
export const DEFAULT_VERSION = '0'.repeat(40);
