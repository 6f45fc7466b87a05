import type { PackageChange } from './package-manifest.ts';

/** One pin file a refresh rewrote (or left as it was), with what changed in its image. */
export interface PinReport {
  /** Heading it is listed under: the OS and env of a base, or the upstream root. */
  group: string;
  /** The pin file, relative to the repository. */
  pinFile: string;
  /** Digest pinned before the refresh; undefined when there was no readable pin. */
  before?: string;
  after: string;
  /** Package changes against the previous pin; undefined when its package list is not known here. */
  packages?: readonly PackageChange[];
}

const KINDS = ['upgraded', 'downgraded', 'added', 'removed'] as const;

/**
 * The body of the refresh's change request, as Markdown: a one-line summary (plain text, so it
 * can serve as the title too), then per group each pin's old and new digest and a table of the
 * packages that changed.
 */
export function formatRefreshMarkdown(pins: readonly PinReport[]): string {
  const lines = [summaryLine(pins)];
  const groups = new Map<string, PinReport[]>();
  for (const pin of pins) groups.set(pin.group, [...(groups.get(pin.group) ?? []), pin]);
  for (const [group, members] of groups) {
    lines.push('', `## ${escapeText(group)}`);
    for (const pin of members) lines.push('', ...pinSection(pin));
  }
  return `${lines.join('\n')}\n`;
}

function changed(pin: PinReport): boolean {
  return pin.before !== pin.after;
}

function summaryLine(pins: readonly PinReport[]): string {
  const count = pins.filter(changed).length;
  if (count === 0) return `Base refresh: no pin changed (${pins.length} checked).`;
  const packages = pins.flatMap((pin) => (changed(pin) ? (pin.packages ?? []) : []));
  const counts = KINDS.map((kind) => [kind, packages.filter((change) => change.kind === kind).length] as const)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`);
  const unknown = pins.filter((pin) => changed(pin) && pin.packages === undefined).length;
  const parts = [counts.length === 0 ? 'no package changed' : `packages: ${counts.join(', ')}`];
  if (unknown > 0) parts.push(`package list unknown for ${unknown}`);
  return `Base refresh: ${count} of ${pins.length} pins changed; ${parts.join('; ')}.`;
}

function pinSection(pin: PinReport): string[] {
  const file = code(pin.pinFile);
  if (!changed(pin)) return [`- ${file}: unchanged (${code(pin.after)})`];
  const lines = [`- ${file}: ${pin.before === undefined ? '(none)' : code(pin.before)} -> ${code(pin.after)}`, ''];
  if (pin.packages === undefined) return [...lines, "Package changes unknown: the previous image's package list is not available here."];
  if (pin.packages.length === 0) return [...lines, 'No package changed.'];
  lines.push('| Package | Change | Before | After |', '| --- | --- | --- | --- |');
  for (const change of pin.packages) {
    const [before, after] =
      change.kind === 'added' ? ['', change.version] : change.kind === 'removed' ? [change.version, ''] : [change.from, change.to];
    lines.push(`| ${cell(change.name)} | ${change.kind} | ${cell(before)} | ${cell(after)} |`);
  }
  return lines;
}

/**
 * A code span, so `~`, `*`, `_` and the like in versions stay literal: fenced by more backticks
 * than the longest run inside, padded when the text starts or ends with one.
 */
function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A table cell: a pipe ends the cell even inside a code span unless escaped (GitHub Flavored Markdown). */
function cell(text: string): string {
  return text === '' ? '' : code(text).replaceAll('|', '\\|');
}

/** Plain text (a heading) with the punctuation that would start emphasis, code, links or HTML escaped. */
function escapeText(text: string): string {
  return text.replace(/[\\`*_[\]<>#|~]/g, '\\$&');
}
