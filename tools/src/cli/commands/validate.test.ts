import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { icosInProcess, useTempDir } from '../../../../test/support/tools.ts';

const temp = useTempDir('validate');

describe('icos validate on large bad tables', () => {
  // Listing every overlapping pair of 5000 stacked rows ran out of memory: now it finishes (no
  // time is asserted) with one problem per row and the first 50 listed.
  it('reports 5000 overlapping volumes without listing them all', async () => {
    const partitions = temp.at('partitions.csv');
    writeFileSync(partitions, 'hostlvm, 2048, 2097152, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6\n');
    const volumes = temp.at('volumes.csv');
    writeFileSync(volumes, Array.from({ length: 5000 }, (_, i) => `v${i}, 0, 10, ${String(i).padStart(6, '0')}-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x\n`).join(''));
    const { code, stderr } = await icosInProcess(['validate', '--partitions', partitions, '--volumes', volumes]);
    expect(code).toBe(1);
    // The partition table's summary line comes first.
    const lines = stderr.trimEnd().split('\n').slice(1);
    expect(lines[0]).toBe('icos: 4999 problems found:');
    expect(lines[1]).toBe(`  ${volumes}:2: column "start": "v1" (extents 0-9) overlaps "v0" (extents 0-9, line 1)`);
    expect(lines).toHaveLength(1 + 50 + 1);
    expect(lines.at(-1)).toBe('  ... and 4949 more');
  });

  it('escapes the control bytes of a binary table', async () => {
    const partitions = temp.at('binary.csv');
    writeFileSync(partitions, Buffer.from([0x1b, 0x5b, 0x32, 0x4a, 0x2c, 0x07, 0x2c, 0x00, 0x2c, 0x9b, 0x2c, 0x7f, 0x0a]));
    const { code, stderr } = await icosInProcess(['validate', '--partitions', partitions]);
    expect(code).toBe(1);
    expect(stderr).toContain('column "name": "\\x1b[2J"');
    expect(stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });
});
