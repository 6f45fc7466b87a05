import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeTable } from '../inputs/tables.ts';
import { icosInProcess, lvmReport, runIcos, sha256sum, toolStatus, useTempDir } from '../../../test/support/tools.ts';
import { layoutLvm, lvmKind, type LvmOptions } from './lvm.ts';
import { lvmVolumeOffsets } from './lvm/lvm-origins.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const HOSTOS_VOLUMES = path.join(REPO, 'partitions/hostos/volumes.csv');
const MiB = 1024 * 1024;
const EXTENT = 4 * MiB;
const VG_UUID = '4c7GVZ-Df82-QEcJ-xXtV-JgRL-IjLE-hK0FgA';
const PV_UUID = 'eu0VQE-HlTi-EyRc-GceP-xZtn-3j6t-iqEwyv';

/** The HostOS volumes as the facts list them (ic-os/hostos/volumes.csv): name, start, size, uuid. */
const HOSTOS_ROWS: [string, number, number, string][] = [
  ['config', 0, 25, 'SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm'],
  ['A_boot', 25, 256, '0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x'],
  ['A_root', 281, 2560, 'RM99J5-B2t1-JU3l-HNco-J2f2-1808-eJGo3s'],
  ['A_var', 2841, 2560, 'AkcyNt-TkgJ-JL7M-UNoP-jWWC-Fhvh-86QyHG'],
  ['B_boot', 5401, 256, '6gl2Fd-qm1V-9E3W-Arjv-J5mW-RqFO-EgYiNC'],
  ['B_root', 5657, 2560, 'UVBREu-GuBh-VHHb-RUAp-jjhQ-blIy-ez3Tjr'],
  ['B_var', 8217, 2560, 'VNZoZ9-013f-hbEJ-Xd9C-AH6E-vAhI-KkzZ4p'],
  ['guestos', 10777, 12800, 'woW7RT-t6jS-cRo2-uENw-iQXu-ni2u-AZdHpq'],
];

function volumeTable(rows: [string, number, number, string][]): VolumeTable {
  return {
    file: 'volumes.csv',
    volumes: rows.map(([name, start, size, uuid], i) => ({ name, start, size, uuid, comment: '', line: i + 1 })),
  };
}

function csvText(rows: [string, number, number, string][]): string {
  return rows.map((row) => `${row.join(',')},test volume\n`).join('');
}

/** A sparse file: `length` bytes, pattern data except for a hole in [holeStart, holeEnd). */
async function writePatternImage(file: string, length: number, seed: number, hole?: [number, number]): Promise<void> {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed + (i >> 12)) & 0xff || 1;
  const handle = await open(file, 'w');
  try {
    await handle.truncate(length);
    const parts: [number, number][] = hole === undefined ? [[0, length]] : [[0, hole[0]], [hole[1], length]];
    for (const [start, end] of parts) await handle.write(bytes, start, end - start, start);
  } finally {
    await handle.close();
  }
}

/** A host tool without lvm2's warnings about inherited file descriptors. */
function tool(command: string, args: string[]) {
  return toolStatus(command, args, { env: { LVM_SUPPRESS_FD_WARNINGS: '1' } });
}

function lvmArgs(out: string, volumes: string, extra: string[] = []): string[] {
  const flags: Record<string, string> = { '--volumes': volumes, '--vg-name': 'hostlvm', '--vg-uuid': VG_UUID, '--pv-uuid': PV_UUID, '--out': out };
  const rest: string[] = [];
  for (let i = 0; i < extra.length; i += 2) {
    if (extra[i]! in flags) flags[extra[i]!] = extra[i + 1]!;
    else rest.push(extra[i]!, extra[i + 1]!);
  }
  return ['lvm', ...Object.entries(flags).flat(), ...rest];
}

describe('layoutLvm (pure)', () => {
  const options: LvmOptions = lvmKind.options.parse({ volumes: volumeTable(HOSTOS_ROWS), vgName: 'hostlvm', vgUuid: VG_UUID, pvUuid: PV_UUID });

  it('sizes the HostOS image as 1 MiB + 23577 extents', () => {
    expect(layoutLvm(options, new Map()).imageSize).toBe(98_890_153_984);
  });

  it('places an LV image at 1 MiB + start x 4 MiB', () => {
    const plan = layoutLvm({ ...options, images: { A_root: 'root.img' } }, new Map([['A_root', 4096]]));
    expect(plan.fills).toEqual([{ volume: 'A_root', imagePath: 'root.img', imageSize: 4096, offset: MiB + 281 * EXTENT }]);
  });

  it.each([
    ['bad VG name', { vgName: '-vg' }, 'lvm: VG name "-vg": must not start with "-"'],
    ['reserved LV name', { volumes: volumeTable([['x_tmeta', 0, 1, VG_UUID]]) }, 'lvm(volumes.csv): line 1: volume "x_tmeta": LV name must not contain "_tmeta" (reserved by lvm2)'],
    ['overlap', { volumes: volumeTable([['a', 0, 2, VG_UUID], ['b', 1, 1, PV_UUID]]) }, 'lvm(volumes.csv): line 2: volume "b" (extents 1-1) overlaps volume "a" (extents 0-1)'],
    ['PV id equal to the VG id', { pvUuid: VG_UUID }, 'lvm: PV uuid (--pv-uuid) "4c7GVZ-Df82-QEcJ-xXtV-JgRL-IjLE-hK0FgA": the same id as the VG uuid (--vg-uuid): ids must be unique'],
    ['LV id equal to the VG id', { volumes: volumeTable([['a', 0, 1, VG_UUID]]) }, 'lvm(volumes.csv): line 1: volume "a": uuid "4c7GVZ-Df82-QEcJ-xXtV-JgRL-IjLE-hK0FgA" is also the VG uuid (--vg-uuid): ids must be unique'],
    // 2^32 extents: past the 32-bit extent counts and the 2^53 bytes of exact offsets (was a RangeError in writeBigUInt64LE).
    ['volume ending past the limit', { volumes: volumeTable([['a', 2 ** 32 - 1, 1, VG_UUID]]) },
      "lvm(volumes.csv): line 1: volume \"a\": ends at extent 4294967296: exceeds the format's limit: volumes end by extent 2147483647"],
  ])('rejects a %s', (_name, change, message) => {
    expect(() => layoutLvm({ ...options, ...change }, new Map())).toThrow(message);
  });
});

describe('icos lvm on the HostOS table', () => {
  const { dir } = useTempDir('lvm');
  let image: string;
  let device: string;
  const images: Record<string, string> = {};

  beforeAll(async () => {
    images.config = path.join(dir, 'config.img');
    images.A_boot = path.join(dir, 'boot.img');
    images.A_root = path.join(dir, 'root.img');
    await writePatternImage(images.config, 2 * MiB + 5000, 1, [64 * 1024, MiB + 8192]);
    await writePatternImage(images.A_boot, 300_000, 2);
    await writePatternImage(images.A_root, MiB, 3);
    image = path.join(dir, 'lvm.img');
    const volumeArgs = Object.entries(images).flatMap(([name, file]) => ['--volume', `${name}=${file}`]);
    const { code, stderr } = await icosInProcess(lvmArgs(image, HOSTOS_VOLUMES, volumeArgs));
    expect(code, stderr).toBe(0);
    device = execFileSync('losetup', ['-r', '-f', '--show', image], { encoding: 'utf8' }).trim();
  }, 120_000);

  afterAll(async () => {
    if (device) execFileSync('losetup', ['-d', device]);
  });

  it('is a sparse file of the nominal size', async () => {
    const info = await stat(image);
    expect(info.size).toBe(98_890_153_984);
    expect(info.blocks * 512).toBeLessThan(16 * MiB);
  });

  it('is a PV and VG that pvs and vgs read as given', () => {
    expect(lvmReport('pvs', device, 'pv_name,pv_uuid,vg_name,dev_size,pe_start,pv_pe_count')).toEqual([
      { pv_name: device, pv_uuid: PV_UUID, vg_name: 'hostlvm', dev_size: '98890153984', pe_start: String(MiB), pv_pe_count: '23577' },
    ]);
    expect(lvmReport('vgs', device, 'vg_name,vg_uuid,vg_extent_size,lv_count,pv_count,vg_seqno')).toEqual([
      { vg_name: 'hostlvm', vg_uuid: VG_UUID, vg_extent_size: String(EXTENT), lv_count: '8', pv_count: '1', vg_seqno: '1' },
    ]);
  });

  it('has every LV with the uuid, size and PE range of the table', () => {
    const expected = HOSTOS_ROWS.map(([name, start, size, uuid]) => ({
      lv_name: name,
      lv_uuid: uuid,
      lv_size: String(size * EXTENT),
      seg_pe_ranges: `${device}:${start}-${start + size - 1}`,
      vg_name: 'hostlvm',
    })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(lvmReport('lvs', device, 'lv_name,lv_uuid,lv_size,seg_pe_ranges,vg_name')).toEqual(expected);
  });

  it('gives the disk the LV starts lvs reports, as framing origins (lvmVolumeOffsets)', async () => {
    const [pv] = lvmReport('pvs', device, 'pe_start');
    const starts = lvmReport('lvs', device, 'seg_pe_ranges').map((row) => Number(/:(\d+)-/.exec(row.seg_pe_ranges!)![1]));
    const fromLvs = starts.map((start) => Number(pv!.pe_start) + start * EXTENT).sort((a, b) => a - b);
    expect((await lvmVolumeOffsets(image)).sort((a, b) => a - b)).toEqual(fromLvs);
    expect(await lvmVolumeOffsets(images.A_root!)).toEqual([]);
  });

  it('is read by GRUB\'s LVM module too (grub-fstest lists every LV)', () => {
    const listed = tool('grub-fstest', [image, 'ls']);
    expect(listed.status, listed.stderr).toBe(0);
    const devices = listed.stdout.match(/\(lvm\/[^)]+\)/g) ?? [];
    expect(devices.sort()).toEqual(HOSTOS_ROWS.map(([name]) => `(lvm/hostlvm-${name.replaceAll('-', '--')})`).sort());
  });

  it('passes pvck, headers and metadata', () => {
    const config = `devices { filter=["a|^${device}$|","r|.*|"] use_devicesfile=0 obtain_device_list_from_udev=0 }`;
    for (const extra of [[], ['--dump', 'headers'], ['--dump', 'metadata']]) {
      const result = tool('pvck', ['--config', config, ...extra, device]);
      expect(result.status, result.stderr).toBe(0);
      expect(`${result.stdout}${result.stderr}`).not.toMatch(/CHECK|[Ee]rror|[Bb]ad /);
    }
  });

  it.each([
    ['config', 0],
    ['A_boot', 25],
    ['A_root', 281],
  ])('holds the image of %s at 1 MiB + start x 4 MiB', async (name, start) => {
    const offset = MiB + start * EXTENT;
    const { size } = await stat(images[name]!);
    const same = tool('cmp', ['-n', String(size), image, images[name]!, `--ignore-initial=${offset}:0`]);
    expect(same.status, same.stdout).toBe(0);
    // Past the image the LV stays zero.
    const zeros = tool('cmp', ['-n', '65536', image, '/dev/zero', `--ignore-initial=${offset + size}:0`]);
    expect(zeros.status, zeros.stdout).toBe(0);
  });
});

describe('icos lvm outputs and errors', () => {
  const rows: [string, number, number, string][] = [HOSTOS_ROWS[0]!, ['A_boot', 25, 2, HOSTOS_ROWS[1]![3]], ['extra', 40, 10, HOSTOS_ROWS[2]![3]]];
  const { dir } = useTempDir('lvm-cli');

  beforeAll(async () => {
    await writeFile(path.join(dir, 'volumes.csv'), csvText(rows));
    await writePatternImage(path.join(dir, 'boot.img'), 3 * MiB + 100, 9, [MiB, 2 * MiB]);
    // One byte more than the 25-extent config LV, all hole.
    execFileSync('truncate', ['-s', String(25 * EXTENT + 1), path.join(dir, 'big.img')]);
  });


  it('writes the same bytes from other directories and umasks', async () => {
    const first = path.join(dir, 'one', 'lvm.img');
    await rm(path.dirname(first), { recursive: true, force: true });
    execFileSync('mkdir', ['-p', path.dirname(first), path.join(dir, 'two')]);
    const args = (out: string, base: string) => lvmArgs(out, path.join(base, 'volumes.csv'), ['--volume', `A_boot=${path.join(base, 'boot.img')}`]);
    expect((await icosInProcess(args(first, dir))).code).toBe(0);
    // The second build runs in another process, directory, TMPDIR and umask, with relative paths.
    const second = runIcos(args('lvm.img', '..'), { umask: '077', cwd: path.join(dir, 'two'), env: { TMPDIR: path.join(dir, 'two') } });
    expect(second.status, second.stderr).toBe(0);
    expect(sha256sum(path.join(dir, 'two', 'lvm.img'))).toBe(sha256sum(first));
  }, 60_000);

  it.each([
    ['an unknown LV name', ['--volume', 'B_boot=boot.img'], 'icos: lvm(VOLUMES): image "boot.img" is given for volume "B_boot", which is not in the table (volumes: config, A_boot, extra)'],
    ['an image larger than its LV', ['--volume', 'config=DIR/big.img'], 'icos: lvm(VOLUMES): image "DIR/big.img" is 104857601 bytes (100 MiB), larger than volume "config" of 104857600 bytes (100 MiB)'],
    ['a missing image file', ['--volume', 'A_boot=DIR/missing.img'], 'icos: lvm(VOLUMES): image "DIR/missing.img" for volume "A_boot": no such file or directory'],
    ['a bad VG uuid', ['--vg-uuid', 'not-an-id'], 'icos: --vg-uuid "not-an-id": expected an LVM id: 32 letters or digits in 6-4-4-4-4-4-6 groups joined by "-", like SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm', 2],
    ['a bad VG name', ['--vg-name', 'host/lvm'], 'icos: --vg-name "host/lvm": may only contain A-Z a-z 0-9 + _ . -', 2],
  ] as Array<[string, string[], string, number?]>)('fails on %s, leaving no output', async (_name, extra, message, status = 1) => {
    const out = path.join(dir, 'failed.img');
    const volumes = path.join(dir, 'volumes.csv');
    const argv = lvmArgs(out, volumes, extra.map((arg) => arg.replace('DIR', dir)));
    const { code, stderr } = await icosInProcess(argv);
    expect(code).toBe(status);
    expect(stderr).toBe(`${message.replace('VOLUMES', volumes).replace('DIR', dir)}\n`);
    expect(existsSync(out)).toBe(false);
    expect(execFileSync('ls', ['-A', dir], { encoding: 'utf8' })).not.toMatch(/partial/);
  });
});
