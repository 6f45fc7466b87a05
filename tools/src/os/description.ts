import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { MESSAGES } from '../messages.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';

/**
 * The image description of one OS, `envs/<os>/os.json`: which table lays out its disk and what
 * fills each partition and volume. Sizes of partitions and volumes live only in the tables; the
 * description names the few sizes that are not a partition's (a root filesystem smaller than its
 * slot, the expanded disk). `icos layout` resolves it against the tables (layout.ts), and the
 * Bazel macro `icos_build` walks the resolved form.
 */

/** A Bazel label of a source file or target; `{env}` is replaced by the env being built. */
const label = z.string().regex(/^\/\/[\w./{}-]*:[\w./{}+-]+$/, 'expected a Bazel label such as "//:components/x/grub.cfg"');
/** Where a file goes and its octal mode: "/grub.cfg:0644". */
const install = z.string().regex(/^\/[^:]*[^/:]:[0-7]{3,4}$/, 'expected INSTALL_PATH:MODE such as "/grub.cfg:0644"');
const size = z.string().regex(/^\d+[KMGT]?$/, 'expected bytes with an optional K, M, G or T suffix, e.g. "3G"');
const absolutePath = z.string().regex(/^\/([^/]+(\/[^/]+)*)?$/, 'expected an absolute path such as "/boot/efi"');

const filesystemFill = {
  /** Only this directory of the container's root tree; absent: an empty filesystem. */
  subdir: absolutePath.optional(),
  /** Source files or targets added to it: label -> "INSTALL_PATH:MODE". */
  files: z.record(label, install).optional(),
  /** Files GRUB opens from this filesystem: each gets a detached signature (needs `bootloader`). */
  grubSigned: z.array(absolutePath).min(1).optional(),
};

const emptyFill = z.object({ kind: z.literal('empty') }).strict();
const ext4Fill = z.object({ kind: z.literal('ext4'), ...filesystemFill, label: z.string().max(16).optional() }).strict();
const vfatFill = z
  .object({
    kind: z.literal('vfat'),
    ...filesystemFill,
    fat32: z.boolean().optional(),
    label: z.string().regex(/^[A-Z0-9_-]{1,11}$/).optional(),
    /** Where the signed GRUB EFI loader goes, e.g. "/EFI/Boot/bootx64.efi" (needs `bootloader`). */
    loader: absolutePath.optional(),
  })
  .strict();
/** The slot's boot filesystem: /boot of the container, the version and the kernel command lines. */
const bootFill = z.object({ kind: z.literal('boot') }).strict();
/** The slot's root filesystem (with its dm-verity tree when the description has `root.verity`). */
const rootFill = z.object({ kind: z.literal('root') }).strict();
/** Another target's packed image, e.g. "//envs/hostos/{env}:partition-x.tzst". */
const imageFill = z.object({ kind: z.literal('image'), target: label }).strict();

const leafFill = z.discriminatedUnion('kind', [emptyFill, ext4Fill, vfatFill, bootFill, rootFill, imageFill]);
export type LeafFill = z.infer<typeof leafFill>;

/** An LVM2 physical volume of the volumes of `volumeTable`, each filled like a partition. */
const lvmFill = z
  .object({
    kind: z.literal('lvm'),
    volumeTable: z.string().min(1),
    vgName: z.string().regex(/^[A-Za-z0-9+_.-]+$/),
    vgUuid: z.string(),
    pvUuid: z.string(),
    fill: z.record(z.string(), leafFill),
  })
  .strict();
export type LvmFill = z.infer<typeof lvmFill>;

const fill = z.discriminatedUnion('kind', [emptyFill, ext4Fill, vfatFill, bootFill, rootFill, imageFill, lvmFill]);
export type Fill = z.infer<typeof fill>;

export const osDescriptionSchema = z
  .object({
    $comment: z.string().optional(),
    /** partitions.csv of the disk, relative to the repository. */
    partitionTable: z.string().min(1),
    /** The disk is expanded to this size (GuestOS: 50G); absent: it ends after the last partition. */
    diskSize: size.optional(),
    /** Where the version file goes in the root filesystem. */
    versionPath: absolutePath,
    /**
     * Where the minisign public key of the env's release.key goes in the root filesystem: the key
     * the OS's upgrade tool checks an upgrade image's signed manifest with (layout fact
     * `upgrade.keyPath`). Absent: the OS takes no upgrades.
     */
    upgradeKeyPath: absolutePath.optional(),
    root: z
      .object({
        /** ext4 size when smaller than the slot (the dm-verity tree goes after it). */
        fsSize: size.optional(),
        /** Paths removed from the root tree (they have partitions of their own or are tmpfs). */
        stripPaths: z.array(absolutePath).default([]),
        verity: z
          .object({
            $comment: z.string().optional(),
            salt: z.string().regex(/^[0-9a-f]{64}$/),
            uuid: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
            /** The hash tree starts this far before the end of the root slot. */
            hashTreeReserve: size,
          })
          .strict()
          .optional(),
      })
      .strict(),
    boot: z
      .object({
        fsSize: size.optional(),
        /** Shell assignments BOOT_ARGS_A/B with ROOT_HASH, rendered into /boot_args (needs root.verity). */
        bootArgsTemplate: label.optional(),
        /** Files of the boot filesystem GRUB opens: each gets a detached signature (needs `bootloader`). */
        grubSigned: z.array(absolutePath).min(1).optional(),
      })
      .strict(),
    /** The signed GRUB loader (a fill's `loader`): modules built in and the config built into it. */
    bootloader: z
      .object({
        $comment: z.string().optional(),
        /** One GRUB module name per line. */
        grubModules: label,
        /** Built into the loader: finds and loads grub.cfg, stops when that fails. */
        grubEarlyConfig: label,
      })
      .strict()
      .optional(),
    /** Every partition of the table, by name, and what fills it. */
    fill: z.record(z.string(), fill),
  })
  .strict();
export type OsDescription = z.infer<typeof osDescriptionSchema>;

/** Path of an OS's description relative to the repository. */
export function descriptionPath(os: string): string {
  return `envs/${os}/os.json`;
}

/** Parses the text of a description; every schema problem is reported with its JSON path. */
export function parseDescription(text: string, where: string): OsDescription {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${where}: not valid JSON: ${(error as Error).message}`);
  }
  const parsed = osDescriptionSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${where}: ${issue.path.join('.') || 'top level'}: ${issue.message}`);
    throw new UserError(`${parsed.error.issues.length} problem(s) in the OS description:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** Reads a description (`where`, relative to the checkout at `root`). */
export async function readDescription(where: string, root = REPO_ROOT): Promise<OsDescription> {
  let text: string;
  try {
    text = await readFile(path.join(root, where), 'utf8');
  } catch (error) {
    throw new UserError(MESSAGES.cannotRead(where, error), 'every OS of envs/oses.json needs envs/<os>/os.json');
  }
  return parseDescription(text, where);
}
