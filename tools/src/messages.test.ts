import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The catalogue's rules are worded in messages.ts only: a string literal elsewhere that spells
 * one of them out is a second wording that will drift. (A rule used by one place only keeps its
 * wording at that place; once a second place needs it, it moves here.)
 */
const SRC = path.resolve(import.meta.dirname);
const CATALOGUE_PHRASES = ['cannot be read', 'expected a regular file', 'cannot be written', "exceeds the format's limit", 'only a regular file (or nothing)'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

describe('the message catalogue', () => {
  it('is the only place whose string literals word its rules', () => {
    const elsewhere: string[] = [];
    for (const file of sources(SRC)) {
      if (file === path.join(SRC, 'messages.ts')) continue;
      readFileSync(file, 'utf8').split('\n').forEach((line, index) => {
        if (/^\s*(\/\/|\*|\/\*)/.test(line)) return; // comments may name a rule
        for (const phrase of CATALOGUE_PHRASES) {
          if (line.includes(phrase)) elsewhere.push(`${path.relative(SRC, file)}:${index + 1}: ${phrase}`);
        }
      });
    }
    expect(elsewhere).toEqual([]);
  });
});
