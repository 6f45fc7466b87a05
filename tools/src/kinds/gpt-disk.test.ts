import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPartitionTable } from '../inputs/partitions-csv.ts';
import { allocatedBytes, icosInProcess, makeTempDir, runIcos, sameBytes, sha256sum, tool, toolStatus } from '../../../test/support/tools.ts';
import { IC_OS_DISK_GUID } from './gpt-disk.ts';

const GUESTOS = path.resolve('partitions/guestos/partitions.csv');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A sparse image of `size` bytes with random data at the given offsets (made with dd, not our code). */
function makeImage(file: string, size: number, dataAt: Array<[offset: number, length: number]>): void {
  execFileSync('truncate', ['-s', String(size), file]);
  for (const [offset, length] of dataAt) {
    execFileSync('dd', ['if=/dev/urandom', `of=${file}`, 'bs=4096', `seek=${offset / 4096}`, `count=${length / 4096}`, 'conv=notrunc', 'status=none']);
  }
}

describe('icos disk (GuestOS layout)', () => {
  const temp = makeTempDir('gpt');
  const at = (name: string) => path.join(temp.dir, name);
  const disk = at('disk.img');

  beforeAll(async () => {
    makeImage(at('esp.img'), 100 * MiB, [[0, 64 * 1024], [50 * MiB, 4096]]);
    makeImage(at('boot.img'), 512 * MiB, [[4096, MiB]]);
    makeImage(at('root.img'), 256 * MiB, [[0, 2 * MiB], [256 * MiB - 4096, 4096]]);
    const { code, stderr } = await icosInProcess([
      'disk', '--partitions', GUESTOS, '--out', disk, '--expand', '50G',
      '--part', `esp=${at('esp.img')}`, '--part', `A_boot=${at('boot.img')}`, '--part', `A_root=${at('root.img')}`,
    ]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
  afterAll(() => temp.remove());

  it('writes the table that sfdisk reads back, row for row', async () => {
    const table = await readPartitionTable(GUESTOS);
    const dump = JSON.parse(tool('sfdisk', ['--json', disk])).partitiontable;
    expect(dump.label).toBe('gpt');
    expect(dump.id).toBe(IC_OS_DISK_GUID);
    expect(dump.lastlba).toBe((50 * GiB) / 512 - 34);
    expect(dump.partitions.map((p: Record<string, unknown>) => [p.name, p.start, p.size, p.type, p.uuid])).toEqual(
      table.partitions.map((p) => [p.name, p.start, p.size, p.typeGuid, p.uuid]),
    );
  });

  it('passes sgdisk -v with the backup GPT at the end of the expanded disk', () => {
    const { status, stdout } = toolStatus('sgdisk', ['-v', disk]);
    expect(status).toBe(0);
    expect(stdout).toContain('No problems found');
    expect(tool('stat', ['-c', '%s', disk]).trim()).toBe(String(50 * GiB));
  });

  it('places every image at its partition start and leaves B slots and unfilled partitions zero', () => {
    expect(sameBytes(disk, 2048 * 512, at('esp.img'), 0, 100 * MiB)).toBe(true);
    expect(sameBytes(disk, 616448 * 512, at('boot.img'), 0, 512 * MiB)).toBe(true);
    expect(sameBytes(disk, 2713600 * 512, at('root.img'), 0, 256 * MiB)).toBe(true);
    for (const start of [206848, 411648, 44656640, 46753792]) {
      expect(sameBytes(disk, start * 512, '/dev/zero', 0, 100 * MiB)).toBe(true);
    }
  });

  it('keeps holes: a 50 GiB disk with ~3 MiB of data stays small on disk', () => {
    expect(allocatedBytes(disk)).toBeLessThan(8 * MiB);
  });

  it('gives the same bytes from other folders, umasks and TMPDIRs', () => {
    // A small table: hashing two 50 GiB files with sha256sum would take minutes.
    const small = at('small.csv');
    writeFileSync(small, [
      'efi , 2048, 8192, U, B78084E2-3363-1346-8C25-D426F26B8928',
      'boot, 10240, 4096, L, DDF618FE-7244-B446-A175-3296E6B9D02E',
      'B_boot, 14336, 4096, L, D5214E4F-F7B0-B945-9A9B-52B9188DF4C5',
    ].join('\n'));
    makeImage(at('small-efi.img'), 2 * MiB, [[0, 8192], [MiB, 4096]]);
    const build = (dir: string, umask: string) => {
      const out = path.join(dir, 'small-disk.img');
      const result = runIcos(
        ['disk', '--partitions', small, '--out', out, '--expand', '16M', '--part', `efi=${at('small-efi.img')}`],
        { umask, env: { TMPDIR: dir }, cwd: dir },
      );
      expect(result.stderr).toBe('');
      return sha256sum(out);
    };
    const other = makeTempDir('gpt-again');
    try {
      expect(build(other.dir, '077')).toBe(build(temp.dir, '022'));
    } finally {
      other.remove();
    }
  });

  it('fills B slots from A images only with --populate-b', async () => {
    const testDisk = at('test-disk.img');
    const { code } = await icosInProcess(['disk', '--partitions', GUESTOS, '--out', testDisk, '--populate-b', '--part', `A_root=${at('root.img')}`]);
    expect(code).toBe(0);
    expect(sameBytes(testDisk, 46753792 * 512, at('root.img'), 0, 256 * MiB)).toBe(true);
    expect(sameBytes(testDisk, 2713600 * 512, at('root.img'), 0, 256 * MiB)).toBe(true);
  });
});

describe('icos disk errors', () => {
  const temp = makeTempDir('gpt-errors');
  const at = (name: string) => path.join(temp.dir, name);
  afterAll(() => temp.remove());

  it.each([
    ['an image larger than its partition',
      (): string[] => { makeImage(at('big.img'), 101 * MiB, []); return ['--part', `esp=${at('big.img')}`]; },
      `partitions/guestos/partitions.csv:7: image "${'BIG'}" (105906176 bytes (101 MiB)) is larger than partition "esp" (104857600 bytes (100 MiB))`],
    ['a B slot without --populate-b', (): string[] => ['--part', 'B_root=x.img'],
      '--part B_root=x.img: "B_root" is a B slot, which ships empty: pass --populate-b to fill B slots'],
    ['a partition name not in the table', (): string[] => ['--part', 'root=x.img'],
      '--part root=x.img: no partition "root" in the table (it has esp, grub, config, A_boot, A_root, A_var, B_boot, B_root, B_var)'],
    ['a missing image', (): string[] => ['--part', `grub=${at('missing.img')}`],
      `partitions/guestos/partitions.csv:8: image "${'MISSING'}" for partition "grub": no such file`],
    ['an expanded size smaller than the table', (): string[] => ['--expand', '40G'],
      'partition "B_var" ends at sector 88696832, beyond sector 83884032'],
    ['a malformed --part', (): string[] => ['--part', 'esp'], '--part "esp": expected NAME=PATH', 2],
    ['the same partition twice', (): string[] => ['--part', 'esp=a', '--part', 'esp=b'], '--part "esp=b": "esp" is given more than once', 2],
    ['a size that does not parse', (): string[] => ['--expand', '50X'], '--expand "50X": expected a number of bytes'],
    ['the table given twice', (): string[] => ['--partitions', at('none.csv')], '--partitions is given more than once', 2],
    ['--populate-b with a value other than true or false', (): string[] => ['--populate-b=maybe'], '--populate-b "maybe": a yes/no flag', 2],
    ['a dotted flag', (): string[] => ['--part.x', '1'], 'Unknown argument: part.x', 2],
  ] as Array<[string, () => string[], string, number?]>)('rejects %s with a located message and leaves no output', async (_name, extra, expected, status = 1) => {
    const out = at('disk.img');
    const args = extra();
    const { code, stderr } = await icosInProcess(['disk', '--partitions', GUESTOS, '--out', out, ...args]);
    expect(code).toBe(status);
    expect(stderr).toContain(expected.replace('BIG', at('big.img')).replace('MISSING', at('missing.img')));
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(temp.dir).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('names a missing partition table', async () => {
    const { code, stderr } = await icosInProcess(['disk', '--partitions', at('none.csv'), '--out', at('disk.img')]);
    expect(code).toBe(1);
    expect(stderr).toBe(`icos: ${at('none.csv')} (partition table): cannot be read: no such file or directory\n`);
  });

  it('refuses to write into a missing directory, naming it', async () => {
    writeFileSync(at('small.img'), 'x');
    const { code, stderr } = await icosInProcess(['disk', '--partitions', GUESTOS, '--out', at('no/such/dir/disk.img'), '--part', `esp=${at('small.img')}`]);
    expect(code).toBe(1);
    expect(stderr).toContain('no/such/dir');
    expect(stderr).toContain('no such file or directory');
  });
});
