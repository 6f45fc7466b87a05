import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { quoted } from '../messages.ts';

/** The one list of operating systems icos builds (envs/oses.json); Starlark reads the same file. */
export const OS_LIST_FILE = 'envs/oses.json';

const OS_NAME = /^[a-z][a-z0-9-]*$/;

const osListSchema = z
  .object({
    $comment: z.string().optional(),
    oses: z.array(z.string().regex(OS_NAME, 'expected a lower-case name of letters, digits and dashes')).min(1),
  })
  .strict();

/** Parses the text of envs/oses.json; `where` names the file in messages. */
export function parseOsList(text: string, where: string): string[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${where}: not valid JSON: ${(error as Error).message}`);
  }
  const parsed = osListSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`${where}: ${issue.path.join('.') || 'top level'}: ${issue.message}`);
  }
  const seen = new Set<string>();
  for (const os of parsed.data.oses) {
    if (seen.has(os)) throw new UserError(`${where}: oses: ${quoted(os)} is listed twice`);
    seen.add(os);
  }
  return parsed.data.oses;
}

let cached: readonly string[] | undefined;

/** The OSes of this checkout, read on first use (Bazel actions that never ask do not need the file). */
export function osList(): readonly string[] {
  cached ??= parseOsList(readFileSync(path.join(REPO_ROOT, OS_LIST_FILE), 'utf8'), OS_LIST_FILE);
  return cached;
}

/** Throws a located error unless `os` is in envs/oses.json; `flag` names where the value came from. */
export function checkOs(os: string, flag: string): string {
  const oses = osList();
  if (!oses.includes(os)) throw new UserError(`${flag} ${quoted(os)}: unknown OS: expected one of ${oses.join(', ')} (${OS_LIST_FILE})`);
  return os;
}
