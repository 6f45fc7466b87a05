import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { icosInProcess, tool, useTempDir } from '../../../test/support/tools.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { renderLayoutFacts } from '../os/layout-facts.ts';
import { resolveLayout } from '../os/layout.ts';

/**
 * `icos guest-vm` on the HostOS image's own VM description: golden domains for both CPU
 * variants, the config medium read back with mtools and tar, and every bad config refused
 * before anything is written. (The domains are also validated against HostOS's libvirt schemas
 * and `virsh define` in test/hostos/domain.test.ts.)
 */

const DESCRIPTION = 'components/hostos/virtualization/guestos-vm.json';
const GOLDEN = path.join(import.meta.dirname, 'testing');
const temp = useTempDir('guest-vm');

/** The description as the HostOS image holds it (layout facts rendered). */
export async function hostVmDescription(): Promise<string> {
  const layout = await resolveLayout('hostos');
  return renderLayoutFacts(readFileSync(path.join(REPO_ROOT, DESCRIPTION), 'utf8'), layout.facts, DESCRIPTION, []);
}

let counter = 0;
/** A config dir with the given files (relative name -> content). */
function configDir(files: Record<string, string>): string {
  const dir = temp.at(`config-${counter++}`);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function guestVm(config: string, extra: string[] = []) {
  const vmFile = temp.at('guestos-vm.json');
  writeFileSync(vmFile, await hostVmDescription());
  const out = temp.at(`out-${counter++}`);
  mkdirSync(out);
  const run = await icosInProcess(['guest-vm', '--vm', vmFile, '--config-dir', config, '--out-dir', out, ...extra]);
  return { ...run, out };
}

function deployment(resources: Record<string, unknown>, mgmtMac: string | null = '70:B5:E8:E8:25:DE', name = 'testnet'): string {
  return JSON.stringify({ deployment: { name, mgmt_mac: mgmtMac }, resources });
}

/** Compares with a golden file; ICOS_UPDATE_GOLDEN=1 rewrites it (review the diff). */
function expectGolden(actual: string, name: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.ICOS_UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

const KVM_DEVICE = ['--kvm-device', '/dev/null'];
const NO_KVM = ['--kvm-device', '/nonexistent/kvm'];

describe('icos guest-vm', () => {
  it('writes the kvm domain of ic-os-docs 002 when KVM exists (golden file)', async () => {
    const run = await guestVm(configDir({ 'deployment.json': deployment({ cpu: 'kvm', memory: '490' }) }), KVM_DEVICE);
    expect(run.code).toBe(0);
    const xml = readFileSync(path.join(run.out, 'guestos.xml'), 'utf8').replaceAll(run.out, '/run/ic-node');
    expectGolden(xml, 'guestos-kvm.xml');
    expect(xml).toContain("<vcpu placement='static'>64</vcpu>");
    expect(xml).toContain("<topology sockets='2' cores='16' threads='2'/>");
    expect(run.stderr).toMatch(/kvm variant \(KVM is available\), 64 vCPU, 501760 MiB, MAC 6a:01:/);
  });

  it('writes the qemu domain when the deployment says qemu (golden file), and when /dev/kvm is missing', async () => {
    const config = configDir({ 'deployment.json': deployment({ cpu: 'qemu', memory: '1G' }) });
    const run = await guestVm(config, KVM_DEVICE);
    expect(run.code).toBe(0);
    const xml = readFileSync(path.join(run.out, 'guestos.xml'), 'utf8').replaceAll(run.out, '/run/ic-node');
    expectGolden(xml, 'guestos-qemu.xml');
    expect(xml).not.toContain('host-passthrough');

    const noKvm = await guestVm(configDir({ 'deployment.json': deployment({ cpu: 'kvm', memory: '1G' }) }), NO_KVM);
    expect(noKvm.code).toBe(0);
    expect(noKvm.stderr).toMatch(/qemu variant \(resources\.cpu is "kvm" but this machine has no \/dev\/kvm\)/);
    expect(readFileSync(path.join(noKvm.out, 'guestos.xml'), 'utf8').replaceAll(noKvm.out, '/run/ic-node')).toBe(xml);
  });

  it('gives the domain a name-based UUID of the machine and VM (python3 uuid5 agrees)', async () => {
    const run = await guestVm(configDir({ 'deployment.json': deployment({ cpu: 'qemu', memory: '1G' }, 'b0:7b:25:c8:f6:c0') }), NO_KVM);
    const expected = tool('python3', ['-c', 'import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, "icos:guest-vm:b0:7b:25:c8:f6:c0:guestos"))']).trim();
    expect(readFileSync(path.join(run.out, 'guestos.xml'), 'utf8')).toContain(`<uuid>${expected}</uuid>`);
  });

  it('gives the guest the scheme\'s MAC of the management MAC, else of the NIC', async () => {
    const given = await guestVm(configDir({ 'deployment.json': deployment({ cpu: 'qemu', memory: '1G' }, 'b0-7b-25-c8-f6-c0', 'mainnet') }), NO_KVM);
    expect(readFileSync(path.join(given.out, 'guestos.xml'), 'utf8')).toContain("<mac address='6a:01:00:ec:bd:51'/>");
    const fromNic = await guestVm(configDir({ 'deployment.json': deployment({ cpu: 'qemu', memory: '1G' }, null, 'mainnet') }), [...NO_KVM, '--nic-mac', 'B0:7B:25:C8:F6:C0']);
    expect(readFileSync(path.join(fromNic.out, 'guestos.xml'), 'utf8')).toContain("<mac address='6a:01:00:ec:bd:51'/>");
  });

  it('writes a config medium mount-config finds: label CONFIG, network.conf and the bootstrap tar (mtools, tar)', async () => {
    const config = configDir({
      'deployment.json': deployment({ cpu: 'qemu', memory: '1G' }, 'b0:7b:25:c8:f6:c0', 'mainnet'),
      'config.ini': '# network\nipv6_prefix=2001:db8:0:1\nipv6_gateway=2001:db8:0:1::1\n',
      'ssh_authorized_keys/admin': 'ssh-ed25519 AAAA admin\n',
      'nns_public_key.pem': 'PEM\n',
    });
    const run = await guestVm(config, NO_KVM);
    expect(run.code).toBe(0);
    const image = path.join(run.out, 'config.img');
    expect(tool('fsck.fat', ['-n', image])).toMatch(/files?, /);
    expect(tool('mlabel', ['-s', '-i', image, '::'])).toMatch(/CONFIG/);
    const network = tool('mtype', ['-i', image, '::/network.conf']);
    // SLAAC (modified EUI-64) of 6a:01:00:ec:bd:51 in the /64.
    expect(network).toContain('ipv6_address=2001:db8:0:1:6801:ff:feec:bd51/64');
    expect(network).toContain('ipv6_gateway=2001:db8:0:1::1');
    expect(network).toContain('mgmt_mac=b0:7b:25:c8:f6:c0');
    tool('mcopy', ['-i', image, '::/ic-bootstrap.tar', temp.at('bootstrap.tar')]);
    expect(tool('tar', ['-tf', temp.at('bootstrap.tar')]).split('\n').filter((line) => !line.endsWith('/'))).toEqual([
      './accounts_ssh_authorized_keys/admin',
      './nns_public_key.pem',
      '',
    ]);
    // Nothing but the two outputs is left in the output folder.
    expect(readdirSync(run.out).sort()).toEqual(['config.img', 'guestos.xml']);
  });

  it.each([
    [{ 'deployment.json': '{"deployment": ' }, /deployment\.json: not JSON/],
    [{ 'deployment.json': deployment({ cpu: 'arm', memory: '1G' }) }, /deployment\.json: column "resources\.cpu": .*'kvm' \| 'qemu'/],
    [{ 'deployment.json': deployment({ cpu: 'qemu', memory: '100M' }) }, /column "resources\.memory": "100M": expected GiB/],
    [{ 'deployment.json': deployment({ cpu: 'kvm', memory: '4', vcpus: 8 }) }, /column "resources\.vcpus": 8: the kvm variant has the fixed topology of 64 vCPUs/],
    [{ 'deployment.json': deployment({ cpu: 'qemu', memory: '1G' }, 'zz:b5:e8:e8:25:de') }, /deployment\.mgmt_mac "zz:b5:e8:e8:25:de": expected six hex pairs/],
    [{ 'deployment.json': deployment({ cpu: 'qemu', memory: '1G' }, null) }, /deployment\.mgmt_mac is null and no --nic-mac was given/],
    [{}, /deployment\.json: missing/],
    [{ 'deployment.json': deployment({ cpu: 'qemu', memory: '1G' }), 'config.ini': 'ipv6_prefix=2001:db8::\n' }, /config\.ini:1: column "ipv6_prefix": "2001:db8::": expected the four groups/],
    [{ 'deployment.json': deployment({ cpu: 'qemu', memory: '1G' }), 'config.ini': 'ipv6_prefix=2001:db8:0:1\nnonsense\n' }, /config\.ini:2: "nonsense": expected key=value/],
  ])('refuses a bad config with a located message and writes nothing (%#)', async (files, message) => {
    const run = await guestVm(configDir(files as Record<string, string>), KVM_DEVICE);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(run.out)).toEqual([]);
  });

  it('refuses a bad VM description with its path', async () => {
    const vmFile = temp.at('bad-vm.json');
    writeFileSync(vmFile, JSON.stringify({ ...JSON.parse(await hostVmDescription()), vsockCid: 2 }));
    const run = await icosInProcess(['guest-vm', '--vm', vmFile, '--config-dir', configDir({ 'deployment.json': deployment({ memory: '1G' }) }), '--out-dir', temp.dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/bad-vm\.json: column "vsockCid": .*greater than or equal to 3/);
    expect(existsSync(temp.at('guestos.xml'))).toBe(false);
  });
});
