import { stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { describeFileType } from '../lib/input-file.ts';
import { normalizeImagePath, parseExtraSpec, type ExtraFile } from '../lib/rootfs-tree.ts';
import { parseSize } from '../lib/size.ts';
import { MESSAGES } from '../messages.ts';

/** Options shared by the filesystem kinds that are built from a root filesystem tar. */

/** Runs a throwing parser inside a zod transform, turning its UserError into an issue. */
function refineWith<T>(parse: (value: string) => T) {
  return (value: string, ctx: z.RefinementCtx): T => {
    try {
      return parse(value);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: error.message });
      return z.NEVER;
    }
  };
}

/** The option fields every rootfs-based filesystem kind accepts. */
export const rootfsOptionFields = {
  /** Output file name, used in messages (`ext4(root.img): ...`). */
  artifact: z.string().min(1),
  /** Bytes, or a size with K/M/G/T suffix. */
  size: z.union([z.number().int().positive(), z.string().transform(refineWith((text) => parseSize(text, '--size')))]),
  /** Root filesystem tar; absent means an empty filesystem. */
  src: z.string().min(1).optional(),
  /** Only this subtree of the tar becomes the image root. */
  subdir: z.string().transform(refineWith((text) => normalizeImagePath(text, '--subdir'))).default('/'),
  /** Host files added as `SRC:DST:MODE`, owner 0:0. */
  extra: z.array(z.string().transform(refineWith(parseExtraSpec))).default([]),
  /** Volume label. */
  label: z.string().min(1).optional(),
};

/**
 * Refuses two `--extra` files with the same destination (after normalising `/a/./b` to `/a/b`):
 * the later one would silently replace the earlier, which is never what a build means.
 */
export function checkExtraDestinations(artifact: string, extras: readonly ExtraFile[]): void {
  const first = new Map<string, number>();
  extras.forEach((extra, index) => {
    const earlier = first.get(extra.destination);
    if (earlier === undefined) {
      first.set(extra.destination, index);
      return;
    }
    const other = extras[earlier]!;
    throw new UserError(
      `${artifact}: destination "${extra.destination}" is given more than once: --extra "${other.source}:${other.destination}" (number ${earlier + 1}) and --extra "${extra.source}:${extra.destination}" (number ${index + 1})`,
    );
  });
}

/** Checks the `--extra` destinations, then that the input files exist (the plan step's only I/O: stat). */
export async function checkInputFiles(artifact: string, src: string | undefined, extras: readonly ExtraFile[]): Promise<void> {
  checkExtraDestinations(artifact, extras);
  if (src !== undefined) await assertFile(`${artifact}: --src "${src}"`, src);
  for (const extra of extras) {
    await assertFile(`${artifact}: --extra "${extra.source}:${extra.destination}": SRC "${extra.source}"`, extra.source);
  }
}

async function assertFile(where: string, file: string): Promise<void> {
  const info = await stat(file).catch((error: unknown) => {
    throw new UserError(MESSAGES.cannotRead(where, error));
  });
  if (!info.isFile()) throw new UserError(MESSAGES.notRegularFile(where, describeFileType(info)));
}

/** `kind(name)` for messages. */
export function artifactLabel(kind: string, artifact: string): string {
  return `${kind}(${path.basename(artifact)})`;
}
