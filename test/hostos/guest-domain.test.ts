/**
 * The GuestOS domains icos guest-vm writes (the golden files of tools/src/ic-node), checked by
 * the software that will run them: xmllint against the libvirt schemas of the HostOS root and
 * `virsh define` on libvirt's test driver. Also that the VM description HostOS carries points at
 * things its root and layout have.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveLayout } from '../../tools/src/os/layout.ts';
import { buildEnv, REPO } from '../support/env-build.ts';
import { tool, toolStatus, useTempDir } from '../support/tools.ts';

const GOLDEN = ['guestos-kvm.xml', 'guestos-qemu.xml'].map((name) => path.join(REPO, 'tools/src/ic-node/testing', name));
const DESCRIPTION = JSON.parse(readFileSync(path.join(REPO, 'components/hostos/virtualization/guestos-vm.json'), 'utf8'));
const temp = useTempDir('guest-domain');

describe('GuestOS domain XML', () => {
  let rootTar: string;
  beforeAll(async () => {
    rootTar = (await buildEnv({ os: 'hostos', env: 'prod', unpack: [] })).output('rootfs-tree.tar');
    tool('tar', ['-xf', rootTar, '-C', temp.dir, 'usr/share/libvirt/schemas']);
  }, 3_600_000);

  it.each(GOLDEN)('%s is valid for the libvirt schemas of the HostOS root (xmllint --relaxng)', (file) => {
    const result = toolStatus('xmllint', ['--noout', '--relaxng', temp.at('usr/share/libvirt/schemas/domain.rng'), file]);
    expect(result.stderr).toContain('validates');
    expect(result.status).toBe(0);
  });

  it('fails that validation for a domain the schemas reject (the check can fail)', () => {
    const broken = temp.at('broken.xml');
    tool('sh', ['-c', `sed "s/<vcpu placement='static'>/<vcpu placement='everywhere'>/" "$0" > "$1"`, GOLDEN[0]!, broken]);
    expect(toolStatus('xmllint', ['--noout', '--relaxng', temp.at('usr/share/libvirt/schemas/domain.rng'), broken]).status).not.toBe(0);
  });

  it.each(GOLDEN)('%s is accepted by virsh define (libvirt test driver)', (file) => {
    const result = toolStatus('virsh', ['-c', 'test:///default', 'define', file]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/Domain '?guestos'? defined/);
  });

  it("names firmware the HostOS root has and an LV of HostOS's layout", async () => {
    const listing = tool('tar', ['-tf', rootTar]).split('\n');
    for (const file of [DESCRIPTION.firmware.code, DESCRIPTION.firmware.varsTemplate]) expect(listing).toContain(file.slice(1));
    const layout = await resolveLayout('hostos');
    const lvm = layout.partitions.find((p) => p.kind === 'lvm');
    const volumes = lvm?.kind === 'lvm' ? lvm.volumes.map((v) => v.name) : [];
    expect(DESCRIPTION.disk).toBe(`/dev/{{layout.vg.name}}/${path.basename(DESCRIPTION.disk)}`);
    expect(volumes).toContain(path.basename(DESCRIPTION.disk));
  });
});
