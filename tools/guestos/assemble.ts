import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner, Logger } from '../src/definitions.ts';
import { ICOS_BIN, INPUTS, ROOT_STRIP, SIZES, VERITY, type GuestOsEnv } from './layout.ts';
import type { StandIns } from './stand-ins.ts';

/** What `assembleGuestOs` needs: one env's root tree, its late binaries and where to write. */
export interface AssembleRequest {
  env: GuestOsEnv;
  /** `icos rootfs` output of the env's container build. */
  rootfsTar: string;
  standIns: StandIns;
  /** One line, reported by the stand-ins and stored as VERSION.TXT of the upgrade image. */
  version: string;
  outDir: string;
  runner: CommandRunner;
  log: Logger;
}

/** The files `assembleGuestOs` made, all inside `outDir`. */
export interface GuestOsImages {
  disk: string;
  root: string;
  boot: string;
  rootHash: string;
}

/** The packed outputs: what is shipped (disk-img.tar.zst) and what upgrades a slot (update-img.tar.zst). */
export interface GuestOsPacks {
  diskPack: string;
  updatePack: string;
}

/** Substitutes the root hash into the boot_args template (facts 4.6: a sed of ROOT_HASH). */
export async function renderBootArgs(rootHash: string): Promise<string> {
  const template = await readFile(path.join(INPUTS.bootloader, 'guestos_boot_args.template'), 'utf8');
  if (!/^[0-9a-f]{64}$/.test(rootHash)) throw new Error(`root hash "${rootHash}": expected 64 hex digits`);
  return template.replaceAll('ROOT_HASH', rootHash);
}

/**
 * Assembles one GuestOS env from its root tree with the icos CLI, as the Bazel rules do:
 * ESP and grub (vfat), an empty config partition (ext4), the root (ext4 with the late
 * binaries) signed with dm-verity, the boot partition (ext4 of /boot plus boot_args carrying
 * the root hash) and the 50G disk.
 */
export async function assembleGuestOs(request: AssembleRequest): Promise<GuestOsImages> {
  const { rootfsTar, standIns, outDir, runner, log } = request;
  const at = (name: string) => path.join(outDir, name);
  const icos = icosRunner(request.env, runner, log);
  const versionFile = at('version.txt');
  await writeFile(versionFile, `${request.version}\n`);

  await icos('vfat', '--src', rootfsTar, '--subdir', '/boot/efi', '--size', SIZES.esp, '--out', at('esp.img'));
  await icos('vfat', '--src', rootfsTar, '--subdir', '/boot/grub', '--size', SIZES.grub, '--out', at('grub.img'),
    '--extra', `${path.join(INPUTS.bootloader, 'grub.cfg')}:/grub.cfg:0644`,
    '--extra', `${path.join(INPUTS.bootloader, 'grubenv')}:/grubenv:0644`);
  await icos('ext4', '--size', SIZES.config, '--out', at('config.img'));

  await icos('ext4', '--src', rootfsTar, '--size', SIZES.root, '--out', at('root-unsigned.img'),
    ...ROOT_STRIP.flatMap((strip) => ['--strip', strip]),
    '--extra', `${standIns.replica}:/opt/ic/bin/replica:0755`,
    '--extra', `${standIns.orchestrator}:/opt/ic/bin/orchestrator:0755`,
    '--extra', `${versionFile}:/opt/ic/share/version.txt:0644`);
  await icos('verity', '--image', at('root-unsigned.img'), '--out', at('root.img'), '--hash-offset', VERITY.hashOffset,
    '--salt', VERITY.salt, '--uuid', VERITY.uuid, '--root-hash-out', at('root-hash'));
  const rootHash = (await readFile(at('root-hash'), 'utf8')).trim();
  await writeFile(at('boot_args'), await renderBootArgs(rootHash));
  await icos('ext4', '--src', rootfsTar, '--subdir', '/boot', '--size', SIZES.boot, '--out', at('boot.img'),
    '--extra', `${at('boot_args')}:/boot_args:0644`, '--extra', `${versionFile}:/version.txt:0644`);

  await icos('disk', '--partitions', INPUTS.partitions, '--out', at('disk.img'), '--expand', SIZES.disk,
    '--part', `esp=${at('esp.img')}`, '--part', `grub=${at('grub.img')}`, '--part', `config=${at('config.img')}`,
    '--part', `A_boot=${at('boot.img')}`, '--part', `A_root=${at('root.img')}`);
  return { disk: at('disk.img'), root: at('root.img'), boot: at('boot.img'), rootHash: at('root-hash') };
}

/** Packs an assembled env: disk-img.tar.zst (the disk) and update-img.tar.zst (boot, root, version). */
export async function packGuestOs(env: GuestOsEnv, outDir: string, runner: CommandRunner, log: Logger): Promise<GuestOsPacks> {
  const at = (name: string) => path.join(outDir, name);
  const icos = icosRunner(env, runner, log);
  await icos('pack', '--out', at('disk-img.tar.zst'), '--member', `disk.img=${at('disk.img')}`);
  await icos('upgrade-image', '--boot', at('boot.img'), '--root', at('root.img'), '--version', at('version.txt'), '--out', at('update-img.tar.zst'));
  return { diskPack: at('disk-img.tar.zst'), updatePack: at('update-img.tar.zst') };
}

function icosRunner(env: GuestOsEnv, runner: CommandRunner, log: Logger) {
  return async (...args: string[]) => {
    log.info(`guestos(${env}): icos ${args[0]} ${path.basename(args[args.indexOf('--out') + 1] ?? '')}`);
    await runner.run(process.execPath, [ICOS_BIN, ...args], { artifact: `guestos(${env})` });
  };
}
