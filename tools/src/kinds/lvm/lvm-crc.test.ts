import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { lvmCrc } from './lvm-crc.ts';

/**
 * LVM's CRC is zlib's CRC-32 run from the seed 0xF597A6CF without the final inversion, so
 * Python's zlib gives an independent value: crc32(data, seed ^ ~0) ^ ~0.
 */
function pythonLvmCrc(bytes: Buffer): number {
  const script = 'import sys, zlib; d = sys.stdin.buffer.read(); print(zlib.crc32(d, 0xF597A6CF ^ 0xFFFFFFFF) ^ 0xFFFFFFFF)';
  return Number(execFileSync('python3', ['-c', script], { input: bytes }).toString().trim());
}

function patternBytes(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 131 + 7) & 0xff;
  return bytes;
}

describe('lvmCrc', () => {
  it.each([
    ['empty input', Buffer.alloc(0)],
    ['one byte', Buffer.from([0x42])],
    ['ascii text', Buffer.from('hostlvm {\n\tid = "4c7GVZ-Df82-QEcJ-xXtV-JgRL-IjLE-hK0FgA"\n}\n\0')],
    ['492 bytes (label sector tail)', patternBytes(492)],
    ['508 bytes (mda header tail)', patternBytes(508)],
    ['odd length', patternBytes(4099)],
  ])('matches an independent zlib-based value for %s', (_name, bytes) => {
    expect(lvmCrc(bytes)).toBe(pythonLvmCrc(bytes));
  });

  it('is the seed itself for empty input (no final inversion)', () => {
    expect(lvmCrc(Buffer.alloc(0))).toBe(0xf597a6cf);
  });

  it('differs from plain CRC-32 of the same bytes', () => {
    // zlib.crc32("123456789") is the well-known check value 0xCBF43926.
    expect(lvmCrc(Buffer.from('123456789'))).not.toBe(0xcbf43926);
    expect((lvmCrc(Buffer.from('123456789'), 0xffffffff) ^ 0xffffffff) >>> 0).toBe(0xcbf43926);
  });
});
