import { type Problem, throwIfProblems } from '../errors.ts';

/**
 * Layout facts in component files: a file that needs a number or id of its OS's tables (the
 * verity hash offset, a PARTUUID, a partition number) writes `{{layout.KEY}}` instead, with KEY
 * one of `icos layout`'s facts. `icos rootfs` renders components this way, and icos_build renders
 * grub files and boot argument templates with the same facts, so no such number is written by hand.
 */
const PLACEHOLDER = /\{\{layout\.([^{}\s]*)\}\}/g;
const MARKER = Buffer.from('{{layout.');

/** Every `{{layout.KEY}}` of `text` with its 1-based line. */
export function findPlaceholders(text: string): { key: string; line: number }[] {
  const found: { key: string; line: number }[] = [];
  text.split('\n').forEach((line, index) => {
    for (const match of line.matchAll(PLACEHOLDER)) found.push({ key: match[1]!, line: index + 1 });
  });
  return found;
}

/** Replaces every placeholder of `text`; an unknown key is a problem at `where`:line. */
export function renderLayoutFacts(text: string, facts: Readonly<Record<string, string>>, where: string, problems: Problem[]): string {
  for (const { key, line } of findPlaceholders(text)) {
    if (!(key in facts)) problems.push({ file: where, line, message: `{{layout.${key}}}: no such layout fact (see \`icos layout --os OS\`, "facts")` });
  }
  return text.replace(PLACEHOLDER, (whole, key: string) => facts[key] ?? whole);
}

/** `content` rendered when it holds a placeholder, else undefined (binary files are never touched). */
export function renderIfTemplated(content: Buffer, facts: Readonly<Record<string, string>>, where: string): Buffer | undefined {
  if (!content.includes(MARKER)) return undefined;
  const problems: Problem[] = [];
  const rendered = renderLayoutFacts(content.toString('utf8'), facts, where, problems);
  throwIfProblems(problems);
  return Buffer.from(rendered, 'utf8');
}
