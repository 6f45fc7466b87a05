import type { z } from 'zod';
import type { CommandRunner, Logger } from '../definitions.ts';
import { UserError } from '../errors.ts';
import { quoted } from '../messages.ts';
import { checkReplaceable, writeAtomicallyTogether } from '../lib/atomic-output.ts';
import type { FrameLibrary } from './sparse-tar/frames.ts';

/** What a build step may touch. */
export interface BuildDeps {
  runner: CommandRunner;
  log: Logger;
  /** Compressed frames of input archives that packed outputs may copy (see sparse-tar/frames.ts). */
  frames?: FrameLibrary;
}

/**
 * One artifact kind (ext4, vfat, verity, gpt, lvm, sparse tar, upgrade image, ...).
 * `plan` is pure: it checks sizes, offsets, overlaps and references and throws before anything is
 * written. `build` does the I/O, writing only to the path it is given (a temporary sibling of the
 * final output, renamed into place by `makeArtifact`).
 */
export interface ArtifactKind<Options, Plan> {
  name: string;
  options: z.ZodType<Options, z.ZodTypeDef, unknown>;
  plan(options: Options): Plan | Promise<Plan>;
  build(plan: Plan, outPath: string, deps: BuildDeps, extraPaths?: Readonly<Record<string, string>>): Promise<void>;
  /**
   * Names of outputs the kind writes besides `outPath` (a signature's manifest and public key):
   * `build` gets a temporary path for each in `extraPaths`, and all are renamed into place together.
   */
  extraOutputs?: readonly string[];
  /**
   * Offsets in the output where the framing windows of its packed archive restart (a disk's
   * partition starts), so frames of the parts' own archives can be copied (sparse-tar/frames.ts).
   */
  packOrigins?(options: Options): Promise<number[]>;
}

/** Renders zod issues as one line each: `kind: option "path": message`. */
export function formatOptionIssues(kind: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      // A misspelt or stray option would otherwise be dropped without a word: name each one.
      if (issue.code === 'unrecognized_keys') {
        const at = issue.path.length === 0 ? '' : ` in option "${issue.path.join('.')}"`;
        return issue.keys.map((key) => `${kind}: option ${quoted(key)}${at}: not an option of this kind`).join('\n');
      }
      const where = issue.path.length === 0 ? '' : ` option "${issue.path.join('.')}"`;
      return `${kind}:${where}: ${issue.message}`;
    })
    .join('\n');
}

/** Validates raw options against the kind's schema and returns the typed options. */
export function parseOptions<Options>(kind: ArtifactKind<Options, unknown>, raw: unknown): Options {
  const parsed = kind.options.safeParse(raw);
  if (!parsed.success) throw new UserError(formatOptionIssues(kind.name, parsed.error));
  return parsed.data;
}

/**
 * Parse, plan (pure), then build into a temporary sibling of `outPath` (and of each of the kind's
 * `extraOutputs`, paths by name in `extraOuts`) and rename into place.
 */
export async function makeArtifact<Options, Plan>(
  kind: ArtifactKind<Options, Plan>,
  rawOptions: unknown,
  outPath: string,
  deps: BuildDeps,
  extraOuts: Readonly<Record<string, string>> = {},
): Promise<Plan> {
  // The output path first: an empty or unusable --out is named as such, not as an option of the kind.
  await checkReplaceable(outPath);
  const names = kind.extraOutputs ?? [];
  const given = Object.keys(extraOuts);
  if (given.length !== names.length || !names.every((name) => name in extraOuts)) {
    const expected = names.length === 0 ? 'none' : names.join(', ');
    throw new UserError(`${kind.name}: further outputs ${given.length === 0 ? 'none' : given.join(', ')} given: expected ${expected}`);
  }
  const plan = await kind.plan(parseOptions(kind, rawOptions));
  const outputs = [outPath, ...names.map((name) => extraOuts[name]!)].map((file) => ({ path: file }));
  await writeAtomicallyTogether(outputs, ([tempPath, ...extraTemps]) =>
    kind.build(plan, tempPath!, deps, Object.fromEntries(names.map((name, index) => [name, extraTemps[index]!]))),
  );
  return plan;
}
