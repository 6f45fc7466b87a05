/**
 * What the SetupOS media carry, for prod and dev: the data partition holds the same env's HostOS
 * and GuestOS `disk-img.tar.zst` byte for byte as those envs' Bazel outputs (read with debugfs
 * from the partition, through a read-only loop device) and the deployment of the env; the config
 * partition is FAT32 labelled CONFIG with an editable config.ini and the keys folder (mtools).
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { buildEnv, DISK } from '../support/env-build.ts';
import { attachLoop, detachLoop, tool, toolAsync, useTempDir } from '../support/tools.ts';

const temp = useTempDir('setupos-media');

interface Partition {
  start: number;
  size: number;
  name?: string;
}

function partitionNamed(disk: string, name: string): Partition {
  const table = JSON.parse(tool('sfdisk', ['--json', disk])) as { partitiontable: { partitions: Partition[] } };
  const found = table.partitiontable.partitions.find((p) => p.name === name);
  if (found === undefined) throw new Error(`${disk}: no partition "${name}"`);
  return found;
}

describe.each([
  ['prod', 'mainnet'],
  ['dev', 'testnet'],
])('SetupOS %s', (env, deployment) => {
  let disk: string;
  let hostArchive: string;
  let guestArchive: string;

  beforeAll(async () => {
    disk = (await buildEnv({ os: 'setupos', env, unpack: [DISK] })).images['disk.img']!;
    hostArchive = (await buildEnv({ os: 'hostos', env, unpack: [] })).output('disk-img.tar.zst');
    guestArchive = (await buildEnv({ os: 'guestos', env, unpack: [] })).output('disk-img.tar.zst');
  }, 60 * 60_000);

  it(`carries the HostOS and GuestOS ${env} env outputs, byte for byte, and the ${deployment} deployment on its data partition`, async () => {
    const data = partitionNamed(disk, 'data');
    const device = attachLoop(disk, data.start * 512, data.size * 512);
    try {
      for (const name of ['host-os.img.tar.zst', 'guest-os.img.tar.zst', 'deployment.json']) {
        await toolAsync('debugfs', ['-R', `dump /${name} ${temp.at(`${env}-${name}`)}`, device]);
      }
    } finally {
      detachLoop(device);
    }
    const sha256 = async (file: string) => (await toolAsync('sha256sum', [file])).split(' ')[0];
    expect(await sha256(temp.at(`${env}-host-os.img.tar.zst`))).toBe(await sha256(hostArchive));
    expect(await sha256(temp.at(`${env}-guest-os.img.tar.zst`))).toBe(await sha256(guestArchive));
    expect(JSON.parse(tool('cat', [temp.at(`${env}-deployment.json`)])).deployment.name).toBe(deployment);
  });

  it('has the FAT32 CONFIG partition with an editable config.ini and the keys folder', () => {
    const config = partitionNamed(disk, 'config');
    const image = `${disk}@@${config.start * 512}`;
    expect(tool('mlabel', ['-s', '-i', image, '::']).trim()).toBe('Volume label is CONFIG');
    expect(tool('minfo', ['-i', image, '::'])).toContain('disk type="FAT32   "');
    expect(tool('mtype', ['-i', image, '::config.ini'])).toContain('ipv6_prefix=');
    expect(tool('mdir', ['-b', '-i', image, '::ssh_authorized_keys'])).toContain('admin');
  });
});
