import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readComponentManifest } from '../container/component-manifest.ts';
import { UserError } from '../errors.ts';
import { readPartitionTable } from '../inputs/partitions-csv.ts';
import { EXTENT_SIZE, SECTOR_SIZE } from '../inputs/tables.ts';
import { readVolumeTable } from '../inputs/volumes-csv.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { type ResolvedLayout, resolveLayout } from './layout.ts';
import { findPlaceholders } from './layout-facts.ts';
import { osList, parseOsList } from './os-list.ts';

const MiB = 1024 * 1024;
const scratch = mkdtempSync(path.join(tmpdir(), 'icos-layout-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the checkout's descriptions and tables in which `edit` changed one description. */
function checkoutWith(os: string, edit: (description: Record<string, any>) => void): string {
  const root = mkdtempSync(path.join(scratch, 'checkout-'));
  for (const dir of ['envs', 'partitions', 'components']) cpSync(path.join(REPO_ROOT, dir), path.join(root, dir), { recursive: true });
  const file = path.join(root, 'envs', os, 'os.json');
  const description = JSON.parse(readFileSync(file, 'utf8'));
  edit(description);
  writeFileSync(file, JSON.stringify(description));
  return root;
}

async function problemOf(os: string, edit: (description: Record<string, any>) => void): Promise<string> {
  const error = await resolveLayout(os, checkoutWith(os, edit)).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(UserError);
  return (error as UserError).message;
}

describe('the OS list', () => {
  it('is envs/oses.json, and every OS in it has a description that resolves', async () => {
    expect(osList()).toEqual(JSON.parse(readFileSync(path.join(REPO_ROOT, 'envs/oses.json'), 'utf8')).oses);
    for (const os of osList()) expect((await resolveLayout(os)).os).toBe(os);
  });

  it.each([
    ['{', 'not valid JSON'],
    ['{"oses": []}', 'oses'],
    ['{"oses": ["GuestOS"]}', 'expected a lower-case name of letters'],
    ['{"oses": ["a", "a"]}', '"a" is listed twice'],
    ['{"oses": ["a"], "more": 1}', 'Unrecognized key'],
  ])('refuses %s', (text, message) => {
    expect(() => parseOsList(text, 'envs/oses.json')).toThrow(message);
  });
});

describe('resolveLayout against the tables', () => {
  it('derives the GuestOS verity hash offset (IC-OS: 10 GiB - 128 MiB) and store start from partitions.csv', async () => {
    const layout = await resolveLayout('guestos');
    const table = await readPartitionTable(path.join(REPO_ROOT, 'partitions/guestos/partitions.csv'));
    const root = table.partitions.find((p) => p.name === 'A_root')!;
    expect(layout.root).toMatchObject({ slot: 'A_root', fsSize: String(3 * 1024 * MiB) });
    expect(Number(layout.root.verity!.hashOffset)).toBe(root.size * SECTOR_SIZE - 128 * MiB);
    expect(layout.root.verity!.hashOffset).toBe('10603200512');
    expect(layout.facts['disk.endSector']).toBe(String(Math.max(...table.partitions.map((p) => p.start + p.size))));
    expect(layout.facts['partitions.A_boot.uuid']).toBe('ddf618fe-7244-b446-a175-3296e6b9d02e');
    expect(layout.partitions.map((p) => [p.name, p.kind])).toEqual(table.partitions.map((p) => [p.name, layoutKind(layout, p.name)]));
    expect(layout.partitionTableLabel).toBe('//:partitions/guestos/partitions.csv');
  });

  it('puts the HostOS root, boot and config into LVs of volumes.csv, sized from the table', async () => {
    const layout = await resolveLayout('hostos');
    const volumes = await readVolumeTable(path.join(REPO_ROOT, 'partitions/hostos/volumes.csv'));
    const lvm = layout.partitions.find((p) => p.kind === 'lvm');
    expect(lvm).toMatchObject({ name: 'hostlvm', vgName: 'hostlvm', vgUuid: '4c7GVZ-Df82-QEcJ-xXtV-JgRL-IjLE-hK0FgA', pvUuid: 'eu0VQE-HlTi-EyRc-GceP-xZtn-3j6t-iqEwyv' });
    if (lvm?.kind !== 'lvm') throw new Error('no lvm fill');
    expect(lvm.volumes.map((v) => [v.name, Number(v.size)])).toEqual(volumes.volumes.map((v) => [v.name, v.size * EXTENT_SIZE]));
    expect(lvm.volumes.filter((v) => v.kind !== 'empty').map((v) => [v.name, v.kind])).toEqual([['config', 'ext4'], ['A_boot', 'boot'], ['A_root', 'root']]);
    expect(layout.root.slot).toBe('A_root');
    expect(layout.root.verity!.hashOffset).toBe(String(2560 * EXTENT_SIZE - 128 * MiB));
    expect(layout.facts['volumes.guestos.offset']).toBe(String(MiB + 10777 * EXTENT_SIZE));
  });

  it.each([
    ['a partition without a fill', (d: any) => delete d.fill.A_var, 'partition "A_var" has no fill'],
    ['a fill of no partition', (d: any) => (d.fill.C_root = { kind: 'empty' }), 'fill "C_root": no partition of that name'],
    ['two roots', (d: any) => (d.fill.B_root = { kind: 'root' }), '2 fills of kind "root" (A_root, B_root)'],
    ['a root larger than its slot', (d: any) => (d.root.fsSize = '11G'), 'root.fsSize "11G" is 11811160064 bytes, larger than "A_root"'],
    ['a hash tree over the root', (d: any) => (d.root.verity.hashTreeReserve = '8G'), 'the hash tree would start at byte 2147483648'],
    ['a disk smaller than the table', (d: any) => (d.diskSize = '1G'), 'diskSize "1G"'],
    ['a disk size that is not whole sectors', (d: any) => (d.diskSize = '53687091300'), 'diskSize "53687091300" is 53687091300 bytes: must be a multiple of 512 bytes'],
    ['a disk size past 2^53 - 1 MiB', (d: any) => (d.diskSize = '9007199254740480'), 'diskSize "9007199254740480": exceeds the format\'s limit'],
    ['a missing grub file', (d: any) => (d.fill.grub.files = { '//:components/none.cfg': '/grub.cfg:0644' }), '//:components/none.cfg: no such file'],
    ['an unknown kind', (d: any) => (d.fill.esp = { kind: 'btrfs' }), 'fill.esp.kind'],
    ['an unknown key', (d: any) => (d.rootfs = {}), "Unrecognized key(s) in object: 'rootfs'"],
    ['boot args without verity', (d: any) => delete d.root.verity, 'boot.bootArgsTemplate: the template names ROOT_HASH, which needs root.verity'],
    ['signed files without the loader that checks them', (d: any) => delete d.bootloader, 'fill.esp.loader: needs the "bootloader" section'],
    ['boot signatures without the loader', (d: any) => delete d.bootloader, 'boot.grubSigned: needs the "bootloader" section'],
    ['a missing GRUB module list', (d: any) => (d.bootloader.grubModules = '//:components/none.txt'), '//:components/none.txt: no such file'],
  ])('names %s in envs/guestos/os.json', async (_what, edit, message) => {
    const problem = await problemOf('guestos', edit);
    expect(problem).toContain('envs/guestos/os.json');
    expect(problem).toContain(message);
  });

  it.each([
    ['an LV without a fill', (d: any) => delete d.fill.hostlvm.fill.guestos, 'volume of partitions/hostos/volumes.csv "guestos" has no fill'],
    ['a bad VG id', (d: any) => (d.fill.hostlvm.vgUuid = 'x'), 'fill.hostlvm.vgUuid "x": expected an LVM id'],
    ['an LV named like a partition', (d: any) => (d.fill.hostlvm.fill.esp = { kind: 'empty' }), 'no volume of partitions/hostos/volumes.csv of that name'],
  ])('names %s in envs/hostos/os.json', async (_what, edit, message) => {
    expect(await problemOf('hostos', edit)).toContain(message);
  });
});

function layoutKind(layout: ResolvedLayout, name: string): string {
  return layout.partitions.find((p) => p.name === name)!.kind;
}

/** Every file under `dir`, relative to the repository. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(REPO_ROOT, dir), { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(REPO_ROOT, path.join(e.parentPath, e.name)));
}

describe('layout facts in component files', () => {
  it('every {{layout.KEY}} of an OS component, grub file or template is a fact of that OS', async () => {
    for (const os of osList()) {
      const layout = await resolveLayout(os);
      const files = [
        ...(await readComponentManifest(os)).map((c) => path.relative(REPO_ROOT, c.source)),
        ...layout.partitions.flatMap((p) => (p.kind === 'lvm' ? p.volumes : [p])).flatMap((p) => ('files' in p && p.files ? Object.keys(p.files) : [])),
        ...(layout.boot.bootArgsTemplate === undefined ? [] : [layout.boot.bootArgsTemplate]),
      ].map((file) => file.replace(/^\/\/:/, ''));
      for (const file of files) {
        for (const { key, line } of findPlaceholders(await readFile(path.join(REPO_ROOT, file), 'utf8').catch(() => ''))) {
          expect(layout.facts, `${file}:${line}: {{layout.${key}}}`).toHaveProperty([key]);
        }
      }
    }
  });

  it('no component writes a partition or volume id of its tables by hand', async () => {
    const files = await filesUnder('components');
    for (const os of osList()) {
      const ids = Object.entries((await resolveLayout(os)).facts).filter(([key]) => key.endsWith('.uuid')).map(([, id]) => id.toLowerCase());
      for (const file of files) {
        const text = (await readFile(path.join(REPO_ROOT, file), 'latin1')).toLowerCase();
        for (const id of ids) expect(text.includes(id), `${file} writes ${id} (use a {{layout.*}} placeholder)`).toBe(false);
      }
    }
  });

  it('no root hash offset is written by hand either', async () => {
    for (const os of osList()) {
      const offset = (await resolveLayout(os)).root.verity?.hashOffset;
      if (offset === undefined) continue;
      for (const file of await filesUnder('components')) {
        expect((await readFile(path.join(REPO_ROOT, file), 'latin1')).includes(offset), `${file} writes ${offset}`).toBe(false);
      }
    }
  });
});

describe('generic code', () => {
  it('names no OS: Starlark rules and TypeScript sources hold no OS name as a string', async () => {
    const sources = [...(await filesUnder('bazel')), ...(await filesUnder('tools/src'))].filter(
      (file) => /\.(bzl|ts|mjs)$/.test(file) && !file.endsWith('.test.ts') && !file.includes('/testing/') && !file.startsWith('bazel/tests/'),
    );
    const quoted = new RegExp(`["'\`](${osList().join('|')})["'\`/]`);
    for (const file of sources) {
      const code = (await readFile(path.join(REPO_ROOT, file), 'utf8')).split('\n').filter((line) => !/^\s*(#|\/\/|\*|\/\*\*)/.test(line));
      const hit = code.find((line) => quoted.test(line));
      expect(hit, `${file}: ${hit}`).toBeUndefined();
    }
  });
});
