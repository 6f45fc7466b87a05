import { throwIfProblems, type Problem } from '../errors.ts';
import { quoted } from '../messages.ts';
import type { EntryType } from './rootfs-tree.ts';

/**
 * SELinux `file_contexts` (the labelling rules compiled into a policy): lines of
 * `regex [-type] context`, `#` comments. Regexes match the whole path. As in libselinux, a later
 * rule beats an earlier one, except that rules without regex metacharacters (exact paths) beat
 * every regex rule; `<<none>>` means "leave unlabelled".
 */

export interface FileContextRule {
  /** The regex as written (after projection, see projectFileContexts). */
  source: string;
  regex: RegExp;
  /** Only entries of this type match; undefined matches all. */
  fileType?: EntryType;
  /** The label, or null for `<<none>>`. */
  context: string | null;
  line: number;
}

export interface FileContexts {
  file: string;
  /** In lookup order: the first matching rule wins (see sortForLookup). */
  rules: FileContextRule[];
  /** Set when projected onto a subtree: the image root is then looked up as "" (the prefix itself). */
  prefix?: string;
}

const TYPE_FLAGS: Record<string, EntryType> = {
  '--': 'file',
  '-d': 'directory',
  '-l': 'symlink',
  '-c': 'char-device',
  '-b': 'block-device',
  '-p': 'fifo',
};

/** Parses file_contexts text; every malformed line is reported at once. */
export function parseFileContexts(text: string, file: string): FileContexts {
  const problems: Problem[] = [];
  const rules: FileContextRule[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/\s+/);
    if (fields.length < 2 || fields.length > 3) {
      problems.push({ file, line, message: `${quoted(trimmed)}: expected "regex [-type] context"` });
      return;
    }
    const [source, typeFlag, context] = fields.length === 3 ? fields : [fields[0], undefined, fields[1]];
    let fileType: EntryType | undefined;
    if (typeFlag !== undefined) {
      fileType = TYPE_FLAGS[typeFlag];
      if (fileType === undefined) {
        if (typeFlag === '-s') return; // sockets never come from a tar
        problems.push({ file, line, message: `file type ${quoted(typeFlag)}: expected one of ${Object.keys(TYPE_FLAGS).join(' ')} -s` });
        return;
      }
    }
    const regex = compile(source!);
    if (regex === undefined) {
      problems.push({ file, line, message: `regex ${quoted(source!)}: not a valid regular expression` });
      return;
    }
    rules.push({ source: source!, regex, fileType, context: context === '<<none>>' ? null : context!, line });
  });
  throwIfProblems(problems);
  return { file, rules: sortForLookup(rules) };
}

function compile(source: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${source})$`, 's');
  } catch {
    return undefined;
  }
}

/** Reverse file order (last rule first), with exact-path rules ahead of regex rules. */
function sortForLookup(rules: FileContextRule[]): FileContextRule[] {
  const reversed = [...rules].reverse();
  const isExact = (rule: FileContextRule) => !/[.^$?*+|[({\\]/.test(rule.source);
  return [...reversed.filter(isExact), ...reversed.filter((rule) => !isExact(rule))];
}

/**
 * Keeps only rules for paths under `prefix` (a `--subdir` like `/boot`) and removes the prefix,
 * so they apply to an image whose root is that subtree.
 */
export function projectFileContexts(contexts: FileContexts, prefix: string): FileContexts {
  if (prefix === '/' || prefix === '') return contexts;
  const rules = contexts.rules
    .filter((rule) => rule.source.startsWith(prefix) && !/^[\w.~-]/.test(rule.source.slice(prefix.length)))
    .map((rule) => {
      const source = rule.source.slice(prefix.length);
      return { ...rule, source, regex: compile(source)! };
    })
    .filter((rule) => rule.regex !== undefined);
  return { file: contexts.file, rules, prefix };
}

/** The label of an image path of the given type: a context, or undefined for none. */
export function lookupContext(contexts: FileContexts, imagePath: string, type: EntryType): string | undefined {
  const subject = contexts.prefix !== undefined && imagePath === '/' ? '' : imagePath;
  const matchType = type === 'hardlink' ? 'file' : type;
  for (const rule of contexts.rules) {
    if (rule.fileType !== undefined && rule.fileType !== matchType) continue;
    if (rule.regex.test(subject)) return rule.context ?? undefined;
  }
  return undefined;
}
