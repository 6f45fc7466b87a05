import { describe, expect, it } from 'vitest';
import { describeSize, parseSize } from './size.ts';

describe('parseSize', () => {
  it.each([
    ['4096', 4096],
    ['100M', 100 * 1024 ** 2],
    ['3G', 3 * 1024 ** 3],
    ['50GiB', 50 * 1024 ** 3],
    ['1k', 1024],
  ])('reads %s', (text, bytes) => {
    expect(parseSize(text, '--size')).toBe(bytes);
  });

  it.each(['12Q', '', '-1', '0', '1.5G'])('rejects "%s" naming the option', (text) => {
    expect(() => parseSize(text, '--size')).toThrow(`--size "${text}"`);
  });
});

describe('describeSize', () => {
  it('shows exact bytes and a unit', () => {
    expect(describeSize(3 * 1024 ** 3)).toBe('3221225472 bytes (3 GiB)');
    expect(describeSize(100)).toBe('100 bytes');
  });
});
