import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from '../definitions.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { mtoolsEnv } from '../kinds/vfat/mtools.ts';
import { formatGrubenv, type GrubEnv, parseGrubenv } from './grubenv.ts';

/**
 * grubenv on the FAT file system of a disk image (the grub partition at `offset`), through
 * mtools: a test reads the A/B state a VM left on its disk, or sets one up, without mounting
 * anything or device-mapper. The file stays 1024 bytes, in one cluster, as GRUB's save_env needs.
 */

const GRUBENV = '::/grubenv';

function fatAt(image: string, offset: number): string {
  return `${image}@@${offset}`;
}

/** The grubenv variables of the FAT file system at byte `offset` of `image`. */
export async function readGrubenvOnImage(image: string, offset: number, runner: CommandRunner): Promise<GrubEnv> {
  const where = `${image} (FAT at byte ${offset}): /grubenv`;
  return withScratchDir('grubenv', async (dir) => {
    const copy = path.join(dir, 'grubenv');
    await runner.run('mcopy', ['-n', '-i', fatAt(image, offset), GRUBENV, copy], { env: mtoolsEnv(0), artifact: where, input: '' });
    return parseGrubenv(await readFile(copy), where);
  });
}

/** Replaces the grubenv of the FAT file system at byte `offset` of `image` with `env`. */
export async function writeGrubenvOnImage(image: string, offset: number, env: GrubEnv, runner: CommandRunner): Promise<void> {
  const where = `${image} (FAT at byte ${offset}): /grubenv`;
  const block = formatGrubenv(env, where);
  await withScratchDir('grubenv', async (dir) => {
    const copy = path.join(dir, 'grubenv');
    await writeFile(copy, block);
    await runner.run('mcopy', ['-o', '-i', fatAt(image, offset), copy, GRUBENV], { env: mtoolsEnv(0), artifact: where, input: '' });
  });
}
