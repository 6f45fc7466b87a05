import { access, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { readRegularText, statRegularFile } from '../lib/input-file.ts';
import { sourceDateEpoch } from '../lib/reproducible.ts';
import { checkKeySource, keyFile, KeySourceSchema, type KeySource } from '../signing/key-source.ts';
import type { ArtifactKind, BuildDeps } from './kind.ts';

/**
 * `grub-loader`: the signed EFI loader of a Secure Boot chain. grub-mkimage assembles GRUB from the
 * root filesystem's own modules (so the loader matches the GRUB the image ships), with every
 * module it needs built in (it never loads one from disk), the signing key's public half
 * (`--pubkey`: GRUB then refuses any file without a valid detached signature) and an early config
 * that loads the grub partition's grub.cfg and stops when that fails. sbsign then signs it for
 * UEFI Secure Boot with the db key. The key pair is the layout-independent part, so it comes from
 * the key source; the loader is made outside the container because prod's keys never enter it.
 */

const KIND = 'grub-loader';
/** Where Debian's grub-efi-amd64-bin puts GRUB's x86_64-efi modules. */
const MODULES_DIR = 'usr/lib/grub/x86_64-efi';
const MODULE_NAME = /^[a-z0-9_]+$/;

const optionsSchema = z
  .object({
    artifact: z.string().min(1),
    /** The root filesystem tar holding /usr/lib/grub/x86_64-efi. */
    rootfs: z.string().min(1),
    /** The module list: one name per line, `#` comments. */
    modules: z.string().min(1),
    /** GRUB commands built into the loader (grub-mkimage -c). */
    earlyConfig: z.string().min(1),
    keys: KeySourceSchema,
  })
  .strict();

export type GrubLoaderOptions = z.infer<typeof optionsSchema>;

export interface GrubLoaderPlan {
  artifact: string;
  rootfs: string;
  modules: string[];
  modulesFile: string;
  earlyConfig: string;
  keys: KeySource;
  epoch: number;
}

/** The module names of a list file; a bad name is reported with its line. */
export function parseModuleList(text: string, where: string): string[] {
  const names: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    for (const name of line.split(/\s+/)) {
      if (!MODULE_NAME.test(name)) throw new UserError(`${where}:${index + 1}: "${name}": a GRUB module name is lower-case letters, digits and _`);
      if (names.includes(name)) throw new UserError(`${where}:${index + 1}: "${name}" is listed twice`);
      names.push(name);
    }
  });
  if (names.length === 0) throw new UserError(`${where}: lists no GRUB module`);
  return names;
}

async function plan(options: GrubLoaderOptions): Promise<GrubLoaderPlan> {
  const artifact = `${KIND}(${options.artifact})`;
  checkKeySource(options.keys, artifact);
  await statRegularFile(options.rootfs, `${artifact}: --rootfs "${options.rootfs}"`);
  await statRegularFile(options.earlyConfig, `${artifact}: --early-config "${options.earlyConfig}"`);
  const modules = parseModuleList(await readRegularText(options.modules, `${artifact}: --modules "${options.modules}"`), options.modules);
  return { artifact, rootfs: options.rootfs, modules, modulesFile: options.modules, earlyConfig: options.earlyConfig, keys: options.keys, epoch: sourceDateEpoch() };
}

async function build(plan: GrubLoaderPlan, outPath: string, deps: BuildDeps): Promise<void> {
  const { artifact } = plan;
  const pubkey = await keyFile(plan.keys, 'grub.pub', artifact);
  const dbKey = await keyFile(plan.keys, 'db.key', artifact);
  const dbCert = await keyFile(plan.keys, 'db.crt', artifact);
  await withScratchDir(KIND, async (scratch) => {
    const extracted = await deps.runner.run('tar', ['-xf', plan.rootfs, '-C', scratch, MODULES_DIR], { artifact, okExitCodes: [2] });
    const modulesDir = path.join(scratch, MODULES_DIR);
    if (extracted.exitCode !== 0) {
      throw new UserError(`${artifact}: --rootfs "${plan.rootfs}" has no /${MODULES_DIR}: the container must install grub-efi-amd64-bin`);
    }
    for (const name of plan.modules) {
      await access(path.join(modulesDir, `${name}.mod`)).catch(() => {
        throw new UserError(`${artifact}: ${plan.modulesFile}: module "${name}" is not in the root filesystem's /${MODULES_DIR}`);
      });
    }
    // GRUB's rescue parser, which runs the built-in config, has no comments.
    const earlyConfig = path.join(scratch, 'early.cfg');
    const commands = (await readRegularText(plan.earlyConfig, `${artifact}: --early-config "${plan.earlyConfig}"`)).split('\n').filter((line) => !/^\s*#/.test(line));
    await writeFile(earlyConfig, commands.join('\n'));
    const unsigned = path.join(scratch, 'grub-unsigned.efi');
    // The prefix is set by the early config (the disk GRUB was loaded from); "/" is never used.
    await deps.runner.run(
      'grub-mkimage',
      ['--format=x86_64-efi', '--disable-shim-lock', `--pubkey=${pubkey}`, `--config=${earlyConfig}`, '--prefix=/', `--directory=${modulesDir}`, `--output=${unsigned}`, ...plan.modules],
      { artifact },
    );
    // sbsign stamps the signing time into the signature: libfaketime makes it SOURCE_DATE_EPOCH.
    // (Firmware checks no time: it has none it could trust.)
    const signingTime = new Date(plan.epoch * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
    await deps.runner.run('faketime', ['-f', `@${signingTime}`, 'sbsign', '--key', dbKey, '--cert', dbCert, '--output', outPath, unsigned], { artifact });
  });
}

/** The `grub-loader` kind (see the module comment). */
export const grubLoaderKind: ArtifactKind<GrubLoaderOptions, GrubLoaderPlan> = {
  name: KIND,
  options: optionsSchema,
  plan,
  build,
};
