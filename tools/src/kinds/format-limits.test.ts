import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { icosInProcess, toolStatus, useTempDir } from '../../../test/support/tools.ts';
import { configImageKind } from './config-image.ts';
import { ext4Kind } from './ext4.ts';
import { parseOptions } from './kind.ts';
import { FAT32_MIN_CLUSTERS, FAT32_MIN_SIZE, vfatKind } from './vfat.ts';

/**
 * Sizes, labels and addresses beyond what a format holds are refused in the plan (before any
 * file is written) with a message naming the value and the limit; what the format tools do at
 * the limit is checked with the tools themselves.
 */

const temp = useTempDir('format-limits');
const GUESTOS = path.resolve('partitions/guestos/partitions.csv');

/** Runs icos and checks it failed with `expected`, no stack and nothing at or beside `out`. */
async function expectRefused(args: string[], out: string, expected: string, status = 1): Promise<void> {
  const { code, stderr } = await icosInProcess(args);
  expect(stderr).toContain(expected);
  expect(code).toBe(status);
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(path.dirname(out)).filter((name) => name.includes('partial'))).toEqual([]);
}

describe('icos disk limits', () => {
  it('refuses an --expand that is not a whole number of sectors', async () => {
    const out = temp.at('disk.img');
    await expectRefused(['disk', '--partitions', GUESTOS, '--out', out, '--expand', String(50 * 1024 ** 3 + 100)], out,
      `gpt(${GUESTOS}): --expand 53687091300 bytes (50 GiB): must be a multiple of 512 bytes (whole sectors)`);
  });

  it('refuses an --expand past 2^53 - 1 MiB bytes', async () => {
    const out = temp.at('disk.img');
    await expectRefused(['disk', '--partitions', GUESTOS, '--out', out, '--expand', String(2 ** 53 - 512)], out,
      "--expand 9007199254740480 bytes (8388608 GiB): exceeds the format's limit: an image holds at most 9007199253692416 bytes");
  });

  it('refuses a partition ending near 2^53 bytes in the table (was a RangeError in ftruncate)', async () => {
    const table = temp.at('huge.csv');
    writeFileSync(table, `esp, 2048, 2048, U, B78084E2-3363-1346-8C25-D426F26B8928\nhuge, ${2 ** 44 - 4096}, 4096, L, 6788E4CF-F456-104E-9A34-A2C58CFB0EE6\n`);
    const out = temp.at('disk.img');
    await expectRefused(['disk', '--partitions', table, '--out', out], out,
      `${table}:2: column "size": partition "huge" ends at sector ${2 ** 44}, after sector ${2 ** 44 - 4096}: exceeds the format's limit`);
  });
});

describe('icos lvm limits', () => {
  it('refuses a volume at 2^32 extents (was a RangeError in writeBigUInt64LE)', async () => {
    const table = temp.at('volumes.csv');
    writeFileSync(table, `huge, ${2 ** 32}, 1, SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm\n`);
    const out = temp.at('lvm.img');
    await expectRefused(
      ['lvm', '--volumes', table, '--vg-name', 'hostlvm', '--vg-uuid', '4c7GVZ-Df82-QEcJ-xXtV-JgRL-IjLE-hK0FgA', '--pv-uuid', 'eu0VQE-HlTi-EyRc-GceP-xZtn-3j6t-iqEwyv', '--out', out],
      out,
      `${table}:1: column "start": "4294967296": more than 2147483646: exceeds the format's limit`,
    );
  });
});

describe('validate and layout flags', () => {
  it('refuses a --disk-size that is not whole sectors (status 2)', async () => {
    expect(await icosInProcess(['validate', '--partitions', GUESTOS, '--disk-size', '10000001'])).toMatchObject({
      code: 2,
      stderr: 'icos: --disk-size "10000001": 10000001 bytes, must be a multiple of 512 (whole sectors)\n',
    });
  });

  it('refuses layout --extra without --all (status 2)', async () => {
    expect(await icosInProcess(['layout', '--os', 'guestos', '--extra', 'x=os.json'])).toMatchObject({ code: 2, stderr: 'icos: layout: --extra adds layouts to --all, not to --os\n' });
  });
});

describe('ext4 labels', () => {
  const options = (label: string) => ({ artifact: 'root.img', size: 16 * 1024 * 1024, label });

  it('counts UTF-8 bytes, not characters', () => {
    expect(parseOptions(ext4Kind, options('éééééééé')).label).toBe('éééééééé'); // 8 characters, 16 bytes
    expect(parseOptions(ext4Kind, options('a'.repeat(16))).label).toBe('a'.repeat(16));
    expect(() => parseOptions(ext4Kind, options('ééééééééé'))).toThrow('--label "ééééééééé" is 18 bytes in UTF-8: ext4 labels are at most 16 bytes');
    expect(() => parseOptions(ext4Kind, options('a'.repeat(17)))).toThrow('is 17 bytes in UTF-8');
  });

  it('refuses control characters', () => {
    expect(() => parseOptions(ext4Kind, options('a\u0001b'))).toThrow('--label "a\\x01b": a label holds no control characters');
  });

  it('refuses a long label on the command line before writing', async () => {
    const out = temp.at('label.img');
    await expectRefused(['ext4', '--out', out, '--size', '16M', '--label', 'ÄÖÜäöüßÄÖ'], out, 'is 18 bytes in UTF-8: ext4 labels are at most 16 bytes');
  });
});

describe('vfat --fat32 minimum', () => {
  it('is the smallest size mkfs.fat formats with 65525 clusters (checked with mkfs.fat itself)', () => {
    const mkfs = (size: number) => {
      const image = temp.at(`mkfs-${size}.img`);
      execFileSync('truncate', ['-s', String(size), image]);
      return toolStatus('mkfs.fat', ['-F', '32', '-v', image]);
    };
    expect(mkfs(FAT32_MIN_SIZE).stdout + mkfs(FAT32_MIN_SIZE).stderr).not.toContain('WARNING');
    expect(mkfs(FAT32_MIN_SIZE - 512).stdout + mkfs(FAT32_MIN_SIZE - 512).stderr).toContain('less then suggested minimum');
  });

  it('refuses a smaller --size in the plan, naming the size and the minimum', async () => {
    await expect(vfatKind.plan(parseOptions(vfatKind, { artifact: 'esp.img', size: FAT32_MIN_SIZE - 512, fat32: true }))).rejects.toThrow(
      `vfat(esp.img): --size 34094592 bytes (32.52 MiB): --fat32 needs at least 34095104 bytes (32.52 MiB), room for FAT32's minimum of ${FAT32_MIN_CLUSTERS} clusters with mkfs.fat's margin`,
    );
    const out = temp.at('small.img');
    await expectRefused(['vfat', '--out', out, '--size', '32M', '--fat32'], out, '--fat32 needs at least 34095104 bytes');
  });

  it('refuses a size past the 32-bit sector count of FAT', async () => {
    const out = temp.at('huge.img');
    await expectRefused(['vfat', '--out', out, '--size', '4T'], out,
      "vfat(huge.img): --size 4398046511104 bytes (4096 GiB): exceeds the format's limit: FAT counts at most 4294967295 sectors of 512 bytes");
  });

  it('makes a FAT32 of at least 65525 clusters that fsck.fat accepts at the minimum', async () => {
    const out = temp.at('fat32.img');
    expect(await icosInProcess(['vfat', '--out', out, '--size', String(FAT32_MIN_SIZE), '--fat32'])).toMatchObject({ code: 0, stderr: '' });
    const check = toolStatus('fsck.fat', ['-n', '-v', out]);
    expect(check.status).toBe(0);
    expect(check.stdout).toContain('32 bit entries');
    expect(Number(/(\d+) data clusters/.exec(check.stdout)?.[1])).toBeGreaterThanOrEqual(FAT32_MIN_CLUSTERS);
  });
});

describe('config-image IPv6 zone ids', () => {
  const base = { artifact: 'config.img', bootstrap: 'ic-bootstrap.tar' };

  it.each([
    ['address', { ipv6Address: 'fe80::1%eth0/64' }, 'option "ipv6Address": expected an IPv6 address (no %zone)'],
    ['gateway', { ipv6Address: '2001:db8::10/64', ipv6Gateway: 'fe80::1%eth0' }, 'option "ipv6Gateway": expected an IPv6 address (no %zone)'],
    ['DNS server', { dhcp: true, dns: ['fe80::53%2'] }, 'option "dns.0": expected an IPv4 or IPv6 address (no %zone)'],
  ])('refuses one in the %s', (_where, settings, expected) => {
    expect(() => parseOptions(configImageKind, { ...base, ...settings })).toThrow(expected);
  });

  it('still takes plain IPv6 addresses', () => {
    expect(parseOptions(configImageKind, { ...base, ipv6Address: 'fe80::1/64', ipv6Gateway: 'fe80::2', dns: ['2001:db8::53'] })).toMatchObject({ ipv6Gateway: 'fe80::2' });
  });

  it('refuses one on the command line before reading --bootstrap', async () => {
    const out = temp.at('config.img');
    await expectRefused(['config-image', '--out', out, '--bootstrap', temp.at('none.tar'), '--ipv6-address', 'fe80::1%eth0/64'], out, 'expected an IPv6 address (no %zone)');
  });
});
