import { describe, expect, it } from 'vitest';
import { parseLogicalVolumes } from './lvm-report.ts';

const MIB = 1024 * 1024;
const EXTENT = 4 * MIB;

describe('parseLogicalVolumes', () => {
  // The shape of `lvs --noheadings --separator , --units b --nosuffix -o lv_name,seg_start_pe,seg_pe_ranges,vg_extent_size`.
  const report = ['  config,0,/dev/loop0:0-24,4194304', '  guestos,0,/dev/loop0:10777-23576,4194304', '  guestos,12800,/dev/loop0:23600-23699,4194304', ''].join('\n');

  it('places each volume by its first segment and totals all of them', () => {
    const volumes = parseLogicalVolumes(report, MIB, 'lvs');
    expect(volumes.first('config')).toEqual({ offset: MIB, length: 25 * EXTENT });
    expect(volumes.first('guestos')).toEqual({ offset: MIB + 10777 * EXTENT, length: 12800 * EXTENT });
    expect(volumes.total('guestos')).toBe(12900 * EXTENT);
  });

  it('names a missing volume and an unexpected line', () => {
    expect(() => parseLogicalVolumes(report, MIB, 'lvs hostlvm').first('A_root')).toThrow('lvs hostlvm: no logical volume "A_root" (has: config, guestos)');
    expect(() => parseLogicalVolumes('  x,0,garbage,4194304', MIB, 'lvs')).toThrow('lvs: unexpected report line "x,0,garbage,4194304"');
  });
});
