/**
 * The installer's view of the HostOS image (components/setupos/install/node-layout.json) names
 * HostOS's partition, volume group and volumes: each must be what HostOS's description and
 * tables resolve to, and the guest volume must hold the GuestOS disk and be the last volume (it
 * grows to the end of the disk).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeLayoutSchema } from '../../tools/src/node-install/install.ts';
import { type ResolvedLvm, resolveLayout } from '../../tools/src/os/layout.ts';
import { parseSize } from '../../tools/src/lib/size.ts';
import { REPO } from '../support/env-build.ts';

const FILE = 'components/setupos/install/node-layout.json';

describe(FILE, () => {
  it('names the HostOS layout\'s PV partition, volume group, guest and config volumes', async () => {
    const layout = nodeLayoutSchema.parse(JSON.parse(readFileSync(path.join(REPO, FILE), 'utf8')));
    const host = await resolveLayout('hostos');
    const pv = host.partitions.find((p): p is ResolvedLvm => p.kind === 'lvm')!;
    expect(pv.name).toBe(layout.physicalVolumePartition);
    expect(host.partitions.at(-1)!.name).toBe(layout.physicalVolumePartition);
    expect(pv.vgName).toBe(layout.volumeGroup);
    expect(pv.volumes.map((v) => v.name)).toContain(layout.configVolume);
    expect(pv.volumes.at(-1)!.name).toBe(layout.guestVolume);
    const guest = await resolveLayout('guestos');
    expect(Number(pv.volumes.at(-1)!.size)).toBeGreaterThanOrEqual(parseSize(guest.diskSize ?? '0', 'diskSize'));
  });
});
