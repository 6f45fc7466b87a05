import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { allocatedBytes, icosInProcess, runIcos, useTempDir } from '../../../../test/support/tools.ts';

// The installer verbs as SetupOS runs them: separate processes, exit status and what they print.
const { at } = useTempDir('node-install');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEtest0000000000000000000000000000000000000000 admin@test\n';

beforeAll(async () => {
  await writeFile(at('partitions.csv'), 'esp, 2048, 2048, U, B78084E2-3363-1346-8C25-D426F26B8928, esp\n');
  for (const args of [
    ['vfat', '--out', at('esp.img'), '--size', '1M'],
    ['disk', '--partitions', at('partitions.csv'), '--out', at('disk.img'), '--part', `esp=${at('esp.img')}`],
    ['pack', '--out', at('disk-img.tar.zst'), '--member', `disk.img=${at('disk.img')}`],
  ]) {
    expect((await icosInProcess(args)).code).toBe(0);
  }
  await writeFile(at('config.ini'), 'ipv6_prefix=2001:db8:0:1\nipv6_gateway=2001:db8:0:1::1\n');
  await writeFile(at('bad.ini'), 'ipv6_prefix=2001:db8:0:1\nipv6_gateway=2001:db8:0:1::1\nverbose=maybe\n');
  await writeFile(at('deployment.json'), '{"deployment":{"name":"testnet","mgmt_mac":null},"resources":{"cpu":"qemu","memory":"1"}}');
  await mkdir(at('keys'));
  await writeFile(at('keys/admin'), KEY);
  await writeFile(at('layout.json'), '{"physicalVolumePartition":"pv","volumeGroup":"vg","guestVolume":"guest","configVolume":"config"}');
  await mkdir(at('tree'));
  await writeFile(at('small.img'), Buffer.alloc(0));
});

describe('icos check-node-config', () => {
  it('accepts a good configuration', () => {
    const result = runIcos(['check-node-config', '--config', at('config.ini'), '--deployment', at('deployment.json'), '--keys', at('keys')]);
    expect(result.stderr).toContain('are valid');
    expect(result.status).toBe(0);
  });

  it('names the bad field with file and line, exit 1, no stack trace', () => {
    const result = runIcos(['check-node-config', '--config', at('bad.ini'), '--deployment', at('deployment.json')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`${at('bad.ini')}:3: column "verbose": "maybe": expected true or false`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('icos install-node', () => {
  it('refuses a target too small for the host image before writing a byte', async () => {
    await truncate(at('small.img'), 1024 * 1024);
    const result = runIcos(['install-node', '--target', at('small.img'), '--node-layout', at('layout.json'), '--host-archive', at('disk-img.tar.zst'),
      '--guest-archive', at('disk-img.tar.zst'), '--config-tree', at('tree')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`--target "${at('small.img')}": 1048576 bytes, too small for the HostOS image of ${at('disk-img.tar.zst')}`);
    expect(allocatedBytes(at('small.img'))).toBe(0);
  });

  it('names a missing archive and a bad node layout', () => {
    const common = ['install-node', '--target', at('small.img'), '--config-tree', at('tree'), '--guest-archive', at('disk-img.tar.zst')];
    const missing = runIcos([...common, '--node-layout', at('layout.json'), '--host-archive', at('missing.tar.zst')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/missing\.tar\.zst/);
    const layout = runIcos([...common, '--node-layout', at('deployment.json'), '--host-archive', at('disk-img.tar.zst')]);
    expect(layout.status).toBe(1);
    expect(layout.stderr).toContain(at('deployment.json'));
    expect(allocatedBytes(at('small.img'))).toBe(0);
  });
});
