import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { icosInProcess } from '../../../test/support/tools.ts';
import { deterministicMac, IP_VERSION_PREFIX, NODE_TYPE_INDEX, NODE_TYPES, normaliseMac } from './deterministic-mac.ts';

/** The two vectors of upstream's deterministic_ips crate (ic-os-runtime-facts section 1). */
const VECTORS = [
  { mgmtMac: '70:b5:e8:e8:25:de', deployment: 'testnet', nodeType: 'hostos', ipVersion: 4, mac: '4a:00:f8:87:a4:8a' },
  { mgmtMac: 'b0:7b:25:c8:f6:c0', deployment: 'mainnet', nodeType: 'guestos', ipVersion: 6, mac: '6a:01:00:ec:bd:51' },
] as const;

function icosMac(mgmtMac: string, deployment: string, nodeType: string, ipVersion: string) {
  return icosInProcess(['mac', '--mgmt-mac', mgmtMac, '--deployment', deployment, '--node-type', nodeType, '--ip-version', ipVersion]);
}

describe('deterministicMac', () => {
  it.each(VECTORS)('gives upstream\'s $mac for $mgmtMac, $deployment, $nodeType, IPv$ipVersion', (v) => {
    expect(deterministicMac(v)).toBe(v.mac);
  });

  it('keeps the prefix and node index, depends only on its inputs, and ignores the MAC\'s spelling', () => {
    for (let i = 0; i < 200; i++) {
      const bytes = [...randomBytes(6)].map((b) => b.toString(16).padStart(2, '0'));
      const mgmtMac = bytes.join(':');
      const spellings = [mgmtMac.toUpperCase(), bytes.join('-'), bytes.join('-').toUpperCase(), ` ${mgmtMac}\n`];
      for (const nodeType of NODE_TYPES) {
        for (const ipVersion of [4, 6] as const) {
          const mac = deterministicMac({ mgmtMac, deployment: 'mainnet', nodeType, ipVersion });
          const parts = mac.split(':').map((part) => parseInt(part, 16));
          expect(mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
          expect(parts[0]).toBe(IP_VERSION_PREFIX[ipVersion]);
          expect(parts[1]).toBe(NODE_TYPE_INDEX[nodeType]);
          // Locally administered (bit 1) and unicast (bit 0 clear): safe on any bridge.
          expect(parts[0]! & 0b11).toBe(0b10);
          expect(deterministicMac({ mgmtMac, deployment: 'mainnet', nodeType, ipVersion })).toBe(mac);
          for (const spelling of spellings) {
            expect(deterministicMac({ mgmtMac: normaliseMac(spelling, 'test'), deployment: 'mainnet', nodeType, ipVersion })).toBe(mac);
          }
        }
      }
      // The hashed bytes are the same for every node type and family of one machine, and differ by deployment.
      const tail = (deployment: string) => deterministicMac({ mgmtMac, deployment, nodeType: 'hostos', ipVersion: 6 }).slice(6);
      expect(deterministicMac({ mgmtMac, deployment: 'mainnet', nodeType: 'guestos', ipVersion: 4 }).slice(6)).toBe(tail('mainnet'));
      expect(tail('testnet')).not.toBe(tail('mainnet'));
    }
  });
});

describe('icos mac', () => {
  it.each(VECTORS)('prints $mac, whatever the case and separators of the management MAC', async (v) => {
    for (const spelling of [v.mgmtMac, v.mgmtMac.toUpperCase(), v.mgmtMac.replaceAll(':', '-')]) {
      const run = await icosMac(spelling, v.deployment, v.nodeType, String(v.ipVersion));
      expect(run).toEqual({ code: 0, stdout: `${v.mac}\n`, stderr: '' });
    }
  });

  it.each([
    ['70:b5:e8:e8:25', /--mgmt-mac "70:b5:e8:e8:25": expected six hex pairs/],
    ['70:b5:e8:e8:25:dg', /--mgmt-mac "70:b5:e8:e8:25:dg": expected six hex pairs/],
    ['70:b5-e8:e8:25:de', /--mgmt-mac "70:b5-e8:e8:25:de": expected six hex pairs/],
    ['70b5e8e825de', /--mgmt-mac "70b5e8e825de": expected six hex pairs/],
  ])('refuses the management MAC %s with a located message', async (mac, message) => {
    const run = await icosMac(mac, 'mainnet', 'hostos', '6');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toBe('');
  });

  it('refuses an unknown node type, IP version or an empty deployment', async () => {
    expect((await icosMac('70:b5:e8:e8:25:de', 'mainnet', 'replica', '6')).stderr).toMatch(/node-type.*replica/s);
    expect((await icosMac('70:b5:e8:e8:25:de', 'mainnet', 'hostos', '5')).stderr).toMatch(/ip-version.*5/s);
    expect((await icosMac('70:b5:e8:e8:25:de', ' ', 'hostos', '6')).stderr).toMatch(/--deployment " ": expected one word/);
  });
});
