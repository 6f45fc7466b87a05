import { describe, expect, it } from 'vitest';
import { notJson } from './messages.ts';

/** JSON.parse's own error for `text`. */
function parseError(text: string): unknown {
  try {
    JSON.parse(text);
  } catch (error) {
    return error;
  }
  throw new Error(`${text} parsed`);
}

describe('notJson', () => {
  it.each([
    ['\x1b[31mred\x07\x00', 'not JSON: unexpected "\\x1b"'],
    ['{"a":1,}', 'not JSON at position 7: expected double-quoted property name'],
    ['{"a"', "not JSON at position 4: expected ':' after property name"],
    ['', 'not JSON: it ends before the value is complete'],
  ])('%o: says where, never echoes the raw bytes', (text, message) => {
    const said = notJson(parseError(text));
    expect(said).toBe(message);
    expect(said).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });
});
