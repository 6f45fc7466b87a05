/**
 * The HostOS dev disk as Bazel builds it, read back with independent tools only: sfdisk and sgdisk
 * for the GPT, pvs/vgs/lvs on a read-only loop device of the hostlvm partition for the LVM
 * layout, e2fsck for the filesystems of the config, A_boot and A_root LVs, veritysetup for A_root.
 * Every expected number comes from the tables and envs/hostos/os.json.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPartitionTable } from '../../tools/src/inputs/partitions-csv.ts';
import { EXTENT_SIZE, type PartitionTable, SECTOR_SIZE, type VolumeTable } from '../../tools/src/inputs/tables.ts';
import { readVolumeTable } from '../../tools/src/inputs/volumes-csv.ts';
import { type ResolvedLayout, type ResolvedLvm, resolveLayout } from '../../tools/src/os/layout.ts';
import { buildEnv, DISK, REPO } from '../support/env-build.ts';
import { attachLoop, detachLoop, lvmReport, spawnAsync, tool, toolStatus } from '../support/tools.ts';

const MiB = 1024 * 1024;
let disk: string;
let rootHash: string;
let layout: ResolvedLayout;
let lvm: ResolvedLvm;
let table: PartitionTable;
let volumes: VolumeTable;
let pvDevice: string;
const loops: string[] = [];

beforeAll(async () => {
  layout = await resolveLayout('hostos');
  lvm = layout.partitions.find((p): p is ResolvedLvm => p.kind === 'lvm')!;
  table = await readPartitionTable(path.join(REPO, layout.partitionTable));
  volumes = await readVolumeTable(path.join(REPO, lvm.volumeTable));
  const build = await buildEnv({ os: 'hostos', env: 'dev', unpack: [DISK] });
  disk = build.images['disk.img']!;
  rootHash = readFileSync(build.output('partition-root-hash'), 'utf8').trim();
  const pv = table.partitions.find((p) => p.name === lvm.name)!;
  pvDevice = attachLoop(disk, pv.start * SECTOR_SIZE, pv.size * SECTOR_SIZE);
  loops.push(pvDevice);
}, 3_600_000);

afterAll(() => loops.forEach(detachLoop));

/** A read-only loop device over one LV of the hostlvm partition. */
function volumeDevice(name: string): string {
  const pv = table.partitions.find((p) => p.name === lvm.name)!;
  const volume = volumes.volumes.find((v) => v.name === name)!;
  const device = attachLoop(disk, pv.start * SECTOR_SIZE + MiB + volume.start * EXTENT_SIZE, volume.size * EXTENT_SIZE);
  loops.push(device);
  return device;
}

describe('HostOS dev disk', () => {
  it('has the GPT of partitions.csv (sfdisk --json) and sgdisk finds no problem', () => {
    const gpt = JSON.parse(tool('sfdisk', ['--json', disk])).partitiontable;
    expect(gpt.label).toBe('gpt');
    expect(gpt.partitions.map((p: Record<string, unknown>) => [p.name, p.start, p.size, String(p.uuid).toUpperCase()])).toEqual(
      table.partitions.map((p) => [p.name, p.start, p.size, p.uuid]),
    );
    const verify = toolStatus('sgdisk', ['-v', disk]);
    expect(verify.stdout).toContain('No problems found');
  });

  it('holds in hostlvm the PV and VG of the description, with every LV of volumes.csv at its extents and id', () => {
    expect(lvmReport('pvs', pvDevice, 'pv_uuid,vg_name,pe_start')).toEqual([{ pv_uuid: lvm.pvUuid, vg_name: lvm.vgName, pe_start: String(MiB) }]);
    expect(lvmReport('vgs', pvDevice, 'vg_name,vg_uuid,lv_count')).toEqual([{ vg_name: lvm.vgName, vg_uuid: lvm.vgUuid, lv_count: String(volumes.volumes.length) }]);
    const expected = volumes.volumes
      .map((v) => ({ lv_name: v.name, lv_uuid: v.uuid, seg_pe_ranges: `${pvDevice}:${v.start}-${v.start + v.size - 1}` }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(lvmReport('lvs', pvDevice, 'lv_name,lv_uuid,seg_pe_ranges')).toEqual(expected);
  });

  it.each(['config', 'A_boot', 'A_root'])('has a clean ext4 in LV %s (e2fsck -fn)', (name) => {
    const check = toolStatus('e2fsck', ['-fn', volumeDevice(name)]);
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });

  it('protects A_root with the dm-verity tree of the built root hash (veritysetup verify)', async () => {
    const root = volumeDevice(layout.root.slot);
    const verify = await spawnAsync('veritysetup', ['verify', root, root, rootHash, `--hash-offset=${layout.root.verity!.hashOffset}`]);
    expect(verify.status, verify.stderr).toBe(0);
    const tampered = await spawnAsync('veritysetup', ['verify', root, root, rootHash.replace(/^./, (c) => (c === '0' ? '1' : '0')), `--hash-offset=${layout.root.verity!.hashOffset}`]);
    expect(tampered.status).not.toBe(0);
  });

  it('leaves B slots, A_var and the guestos LV empty (all zero)', () => {
    for (const name of ['A_var', 'B_boot', 'B_root', 'B_var', 'guestos']) {
      const device = volumeDevice(name);
      // The first MiB of each: a filesystem or PV copied there would show its superblock or label.
      expect(toolStatus('cmp', ['-n', String(MiB), device, '/dev/zero']).status, name).toBe(0);
    }
  });

  it('keeps the boot LV bootable: kernel, initrd, boot_args with the root hash and the version (debugfs)', () => {
    const boot = volumeDevice(layout.boot.slot);
    const listing = tool('debugfs', ['-R', 'ls -l /', boot]);
    for (const name of ['vmlinuz', 'initrd.img', 'boot_args', 'version.txt']) expect(listing).toContain(name);
    expect(tool('debugfs', ['-R', 'cat /boot_args', boot])).toContain(`root_hash=${rootHash}`);
  });
});
