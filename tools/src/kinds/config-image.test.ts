import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { icosInProcess, sha256sum, tool, toolStatus, useTempDir } from '../../../test/support/tools.ts';

const temp = useTempDir('config-image');

function bootstrapTar(): string {
  const tree = temp.at('bootstrap');
  mkdirSync(path.join(tree, 'accounts_ssh_authorized_keys'), { recursive: true });
  writeFileSync(path.join(tree, 'accounts_ssh_authorized_keys/admin'), 'ssh-ed25519 AAAA admin@test\n');
  const tar = temp.at('ic-bootstrap.tar');
  execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', tree, '-cf', tar, '.']);
  return tar;
}

describe('icos config-image', () => {
  const tar = bootstrapTar();
  const network = ['--ipv4-address', '10.0.2.15/24', '--ipv4-gateway', '10.0.2.2', '--dns', '10.0.2.3', '--dns', '2001:db8::53', '--mgmt-mac', '52:54:00:AB:CD:EF'];

  it('writes a FAT device labelled CONFIG with the tar unchanged and network.conf', async () => {
    const out = temp.at('config.img');
    const run = await icosInProcess(['config-image', '--out', out, '--bootstrap', tar, ...network]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(toolStatus('fsck.fat', ['-n', out]).status).toBe(0);
    expect(tool('mlabel', ['-i', out, '-s', '::'])).toContain('CONFIG');
    const copy = temp.at('copied.tar');
    tool('mcopy', ['-i', out, '::/ic-bootstrap.tar', copy]);
    expect(sha256sum(copy)).toBe(sha256sum(tar));
    expect(tool('mtype', ['-i', out, '::/network.conf'])).toBe(
      '# GuestOS network settings (icos config-image), read by generate-network-config\n' +
        'ipv4_address=10.0.2.15/24\nipv4_gateway=10.0.2.2\ndns=10.0.2.3,2001:db8::53\ndhcp=no\nmgmt_mac=52:54:00:ab:cd:ef\n',
    );
  });

  it('makes the same bytes twice', async () => {
    await icosInProcess(['config-image', '--out', temp.at('again.img'), '--bootstrap', tar, ...network]);
    expect(sha256sum(temp.at('again.img'))).toBe(sha256sum(temp.at('config.img')));
  });

  it('refuses bad settings and a non-tar bootstrap before writing anything', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--ipv4-address', '10.0.2.15'], /^icos: config-image\(bad\.img\): --ipv4-address "10\.0\.2\.15": expected an IPv4 address with a prefix length/],
      [['--ipv6-address', 'fe80::1%eth0/64'], /--ipv6-address "fe80::1%eth0\/64": expected an IPv6 address \(no %zone\)/],
      [['--dhcp', '--dns', '10.0.2.3', '--dns', 'fe80::53%eth0'], /--dns "fe80::53%eth0": expected an IPv4 or IPv6 address \(no %zone\)/],
      [['--ipv4-address', '10.0.2.15/24', '--dhcp'], /DHCP and a static address exclude each other/],
      [[], /give a static address/],
      [['--dhcp', '--mgmt-mac', '52:54:00'], /--mgmt-mac "52:54:00": expected six hex pairs/],
    ];
    for (const [args, message] of cases) {
      const run = await icosInProcess(['config-image', '--out', temp.at('bad.img'), '--bootstrap', tar, ...args]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(message);
    }
    const notTar = temp.at('not-a-tar');
    writeFileSync(notTar, 'x'.repeat(1024));
    const run = await icosInProcess(['config-image', '--out', temp.at('bad.img'), '--bootstrap', notTar, '--dhcp']);
    expect(run.stderr).toBe(`icos: config-image(bad.img): --bootstrap "${notTar}": not a tar archive (no valid ustar header)\n`);
    expect(existsSync(temp.at('bad.img'))).toBe(false);
    expect(readdirSync(temp.dir).filter((name) => name.includes('partial'))).toEqual([]);
  });
});
