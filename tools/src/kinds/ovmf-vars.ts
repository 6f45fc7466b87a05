import { createHash } from 'node:crypto';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { CommandRunner } from '../definitions.ts';
import { UserError } from '../errors.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { statRegularFile } from '../lib/input-file.ts';
import { sourceDateEpoch } from '../lib/reproducible.ts';
import { checkKeySource, keyFile, KeySourceSchema, type KeySource } from '../signing/key-source.ts';
import { optionPath, secureBootArgs } from '../vm/qemu-args.ts';
import type { ArtifactKind } from './kind.ts';

/**
 * `ovmf-vars`: an OVMF variable store with our Secure Boot keys enrolled (PK, KEK, db), for
 * `icos launch --secure-boot` and the Secure Boot tests. Made offline by the firmware itself:
 * efitools turns the certificates into signed `.auth` updates (PK self-signed, KEK signed by PK,
 * db by KEK), and systemd-boot (`secure-boot-enroll force`, keys in /loader/keys/auto) writes them
 * in one boot of the Secure Boot OVMF under QEMU (TCG) from the empty store, then resets, which
 * ends QEMU (-no-reboot). Same inputs give the same bytes: a fixed owner GUID, the update
 * timestamp from SOURCE_DATE_EPOCH, a fixed FAT volume id. (The RTC is left alone: the firmware
 * stores no clock time with these variables, and an RTC set to 1970 kept OVMF from booting at all.)
 *
 * Test keys only: a machine that runs prod images enrols prod's keys in its own firmware; a store
 * holding prod's db would be of no use to anyone, so `keys.external` is refused.
 */

const optionsSchema = z
  .object({
    /** Name in messages, e.g. the Bazel target. */
    artifact: z.string().min(1).default('ovmf-vars'),
    /** The key directory (keys/test-keys): pk, kek and db as .key and .crt (keys/README.md). */
    keys: KeySourceSchema,
    /** The empty variable store (setup mode) the keys are enrolled into. */
    template: z.string().min(1).default('/usr/share/OVMF/OVMF_VARS_4M.fd'),
    /** OVMF code with Secure Boot (needs SMM and a secure pflash). */
    code: z.string().min(1).default('/usr/share/OVMF/OVMF_CODE_4M.secboot.fd'),
    /** systemd-boot (252 or later: `secure-boot-enroll`), the EFI program that enrols the keys. */
    enroller: z.string().min(1).default('/usr/lib/systemd/boot/efi/systemd-bootx64.efi'),
    /** Seconds the enrolling boot may take before it counts as hung (about 5 s under TCG). */
    timeoutSeconds: z.number().int().positive().default(120),
  })
  .strict();

export type OvmfVarsOptions = z.infer<typeof optionsSchema>;

/** The Secure Boot variables in enrolment order, the key file each is made from, and its signer. */
export const SECURE_BOOT_VARIABLES = [
  { variable: 'PK', key: 'pk', signer: 'pk' },
  { variable: 'KEK', key: 'kek', signer: 'pk' },
  { variable: 'db', key: 'db', signer: 'kek' },
] as const;

export interface OvmfVarsPlan {
  artifact: string;
  keys: KeySource;
  template: string;
  code: string;
  enroller: string;
  timeoutSeconds: number;
  /** `YYYY-MM-DD HH:MM:SS` (UTC) of SOURCE_DATE_EPOCH: the time of every authenticated update. */
  timestamp: string;
}

/** What systemd-boot reads from /loader/loader.conf: enrol without asking, show no menu. */
export const LOADER_CONF = 'timeout 0\nsecure-boot-enroll force\n';
/** The FAT image is scratch, but a fixed volume id keeps the boot (and the store) the same. */
const VOLUME_ID = '1c05ec0b';
const FAT_KIB = 2048;

/** sign-efi-sig-list's `-t` form of an epoch (UTC). */
export function efiTimestamp(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

/** The signature owner GUID: a digest of the three certificates, so the same keys give the same GUID. */
export function ownerGuid(certificates: readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const certificate of certificates) hash.update(createHash('sha256').update(certificate).digest());
  const bytes = hash.digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50; // a name-based UUID (RFC 4122 version 5 bits)
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The QEMU arguments of the enrolling boot: Secure Boot firmware booting `disk`, console to `serial`. */
export function enrolmentQemuArgs(plan: Pick<OvmfVarsPlan, 'code'>, vars: string, disk: string, serial: string): string[] {
  return [
    ...secureBootArgs({ code: plan.code, vars }),
    '-accel', 'tcg', '-smp', '1', '-m', '256M',
    '-display', 'none', '-no-reboot', '-net', 'none',
    '-serial', `file:${optionPath(serial)}`, '-monitor', 'none',
    '-drive', `file=${optionPath(disk)},format=raw,if=virtio`,
  ];
}

/** The signed updates: PK.auth, KEK.auth and db.auth in `dir`; returns each variable's signature list. */
async function makeAuthFiles(plan: OvmfVarsPlan, dir: string, runner: CommandRunner): Promise<Map<string, Buffer>> {
  const file = (name: 'pk' | 'kek' | 'db', ext: 'key' | 'crt') => keyFile(plan.keys, `${name}.${ext}`, plan.artifact);
  // One after the other: a missing key is then always the first missing one, PK before KEK before db.
  const certificates: Buffer[] = [];
  for (const { key } of SECURE_BOOT_VARIABLES) certificates.push(await readFile(await file(key, 'crt')));
  const guid = ownerGuid(certificates);
  const lists = new Map<string, Buffer>();
  for (const { variable, key, signer } of SECURE_BOOT_VARIABLES) {
    const list = path.join(dir, `${variable}.esl`);
    await runner.run('cert-to-efi-sig-list', ['-g', guid, await file(key, 'crt'), list], { artifact: plan.artifact });
    const sign = ['-g', guid, '-t', plan.timestamp, '-k', await file(signer, 'key'), '-c', await file(signer, 'crt')];
    await runner.run('sign-efi-sig-list', [...sign, variable, list, path.join(dir, `${variable}.auth`)], { artifact: plan.artifact });
    lists.set(variable, await readFile(list));
  }
  return lists;
}

/** A small FAT image: systemd-boot as the removable-media loader, loader.conf and the .auth files. */
async function makeEnrolmentDisk(plan: OvmfVarsPlan, dir: string, runner: CommandRunner): Promise<string> {
  const disk = path.join(dir, 'enrol.img');
  const loaderConf = path.join(dir, 'loader.conf');
  await writeFile(loaderConf, LOADER_CONF);
  await runner.run('mkfs.vfat', ['-C', '-i', VOLUME_ID, '-n', 'ENROL', disk, String(FAT_KIB)], { artifact: plan.artifact });
  const mtools = { env: { MTOOLSRC: '/dev/null', MTOOLS_SKIP_CHECK: '1' }, input: '', artifact: plan.artifact };
  await runner.run('mmd', ['-i', disk, '::EFI', '::EFI/BOOT', '::loader', '::loader/keys', '::loader/keys/auto'], mtools);
  await runner.run('mcopy', ['-i', disk, plan.enroller, '::EFI/BOOT/BOOTX64.EFI'], mtools);
  await runner.run('mcopy', ['-i', disk, loaderConf, '::loader/loader.conf'], mtools);
  const auths = SECURE_BOOT_VARIABLES.map(({ variable }) => path.join(dir, `${variable}.auth`));
  await runner.run('mcopy', ['-i', disk, ...auths, '::loader/keys/auto/'], mtools);
  return disk;
}

/** The serial console without escape sequences, its last lines: what a failure message quotes. */
function consoleTail(text: string): string {
  // eslint-disable-next-line no-control-regex
  const plain = text.replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, '').replace(/\r/g, '');
  const lines = plain.split('\n').filter((line) => line.trim() !== '').slice(-8);
  return lines.length === 0 ? '(nothing)' : lines.join('\n');
}

/** The `ovmf-vars` artifact kind. */
export const ovmfVarsKind: ArtifactKind<OvmfVarsOptions, OvmfVarsPlan> = {
  name: 'ovmf-vars',
  options: optionsSchema,
  async plan(options) {
    const { artifact, keys } = options;
    checkKeySource(keys, artifact);
    if (keys.external) {
      throw new UserError(
        `${artifact}: keys: external (prod) keys: an enrolled OVMF variable store is made only from the test keys (keys/test-keys); machines running prod images enrol prod's keys in their own firmware`,
      );
    }
    for (const [option, file] of [['template', options.template], ['code', options.code], ['enroller', options.enroller]] as const) {
      await statRegularFile(file, `${artifact}: option "${option}" "${file}"`);
    }
    return { ...options, timestamp: efiTimestamp(sourceDateEpoch()) };
  },
  async build(plan, outPath, { runner }) {
    await withScratchDir('ovmf-vars', async (dir) => {
      const lists = await makeAuthFiles(plan, dir, runner);
      const disk = await makeEnrolmentDisk(plan, dir, runner);
      await copyFile(plan.template, outPath);
      await chmod(outPath, 0o644); // QEMU writes the store: a read-only template's mode must not follow it
      const serial = path.join(dir, 'serial.log');
      const qemu = enrolmentQemuArgs(plan, outPath, disk, serial);
      const { exitCode } = await runner.run('timeout', ['--kill-after=5', String(plan.timeoutSeconds), 'qemu-system-x86_64', ...qemu], {
        artifact: plan.artifact,
        okExitCodes: [124, 137],
      });
      const console = consoleTail(await readFile(serial, 'latin1').catch(() => ''));
      if (exitCode !== 0) {
        throw new UserError(`${plan.artifact}: the enrolling boot did not end within ${plan.timeoutSeconds} s; the console's last lines:\n${console}`);
      }
      // The firmware stores each signature list as it is: all three present means all three enrolled.
      const store = await readFile(outPath);
      const missing = [...lists].filter(([, list]) => !store.includes(list)).map(([variable]) => variable);
      if (missing.length > 0) {
        throw new UserError(`${plan.artifact}: the firmware did not enrol ${missing.join(', ')}; the console's last lines:\n${console}`);
      }
    });
  },
};
