import { describe, expect, it } from 'vitest';
import { toolStatus } from '../../../test/support/tools.ts';
import { compareDebianVersions } from './debian-version.ts';

/** dpkg's own verdict, the reference this order must agree with. */
function dpkgSays(a: string, relation: 'lt' | 'eq' | 'gt', b: string): boolean {
  return toolStatus('dpkg', ['--compare-versions', a, relation, b]).status === 0;
}

const PAIRS: [string, string][] = [
  ['2.36-9', '2.36-9+deb12u1'],
  ['2.36-9+deb12u4', '2.36-9+deb12u10'],
  ['1.0~rc1', '1.0'],
  ['1.0~rc1', '1.0~~'],
  ['1.0', '1.0a'],
  ['1.0a', '1.0+'],
  ['1:0.9', '2.0'],
  ['0:1.0', '1.0'],
  ['1.01', '1.1'],
  ['1.2.10', '1.2.9'],
  ['7.88.1-10+deb12u5', '7.88.1-10+deb12u12'],
  ['252.30-1~deb12u2', '252.30-1'],
  ['1.0-1', '1.0'],
  ['2.0-alpha-1', '2.0-1'],
  ['1.0.0', '1.0'],
  ['10', '9'],
  ['1.000000000000000000001', '1.1'],
];

describe('compareDebianVersions', () => {
  it.each(PAIRS)('orders %s and %s as dpkg --compare-versions does', (a, b) => {
    const ours = compareDebianVersions(a, b);
    const relation = ours < 0 ? 'lt' : ours > 0 ? 'gt' : 'eq';
    expect(dpkgSays(a, relation, b), `${a} ${relation} ${b}`).toBe(true);
    expect(compareDebianVersions(b, a)).toBe(ours === 0 ? 0 : -ours);
  });

  it('tells an upgrade from a downgrade', () => {
    expect(compareDebianVersions('2.36-9', '2.36-9+deb12u1')).toBe(-1);
    expect(compareDebianVersions('2.36-9+deb12u1', '2.36-9')).toBe(1);
  });
});
