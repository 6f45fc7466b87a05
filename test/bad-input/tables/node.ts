import type { BadInputCase, BadInputTable } from '../case.ts';
import { notAFileCases, usageCases } from './common.ts';

const DEPLOYMENT = '{"deployment":{"name":"testnet","mgmt_mac":"70:B5:E8:E8:25:DE"},"resources":{"cpu":"qemu","memory":"1G"}}';
const INI = 'ipv6_prefix=2001:db8:0:1\nipv6_gateway=2001:db8:0:1::1\n';

const checkGood = ['--config', '{case}/config.ini', '--deployment', '{case}/deployment.json'];
function check(name: string, ini: string, deployment: string, message: RegExp): BadInputCase {
  return { name, args: ['check-node-config', ...checkGood], files: { 'config.ini': ini, 'deployment.json': deployment }, status: 1, message };
}

export const checkNodeConfigTable: BadInputTable = {
  command: 'check-node-config',
  cases: [
    ...usageCases('check-node-config', ['--config', '{node-config}/config.ini', '--deployment', '{node-config}/deployment.json'], '--config'),
    ...notAFileCases('--config', (v) => ['check-node-config', '--config', v, '--deployment', '{node-config}/deployment.json'], { skip: ['a symlink to a FIFO'] }),
    ...notAFileCases('--deployment', (v) => ['check-node-config', '--config', '{node-config}/config.ini', '--deployment', v], { skip: ['a symlink to a FIFO', '/dev/zero'] }),
    check('a boolean that is maybe', `${INI}verbose=maybe\n`, DEPLOYMENT, /config\.ini:3: column "verbose": "maybe"/),
    check('a bad IPv6 prefix', 'ipv6_prefix=2001:db8:zz:1\nipv6_gateway=2001:db8:0:1::1\n', DEPLOYMENT, /config\.ini:1/),
    check('a gateway with a zone id', 'ipv6_prefix=2001:db8:0:1\nipv6_gateway=fe80::1%eth0\n', DEPLOYMENT, /config\.ini:2/),
    check('a line without =', `${INI}garbage\n`, DEPLOYMENT, /config\.ini:3/),
    check('an unknown key', `${INI}colour=blue\n`, DEPLOYMENT, /config\.ini:3.*colour/),
    check('the same key twice', `${INI}ipv6_prefix=2001:db8:0:2\n`, DEPLOYMENT, /config\.ini:3.*ipv6_prefix/),
    check('a binary config.ini', '\x1b[2J\x00\x01=\xff\n', DEPLOYMENT, /config\.ini:1/),
    check('an empty config.ini', '', DEPLOYMENT, /config\.ini/),
    check('deployment.json that is not JSON', INI, '{"deployment":', /deployment\.json/),
    check('deployment.json without a name', INI, '{"deployment":{"mgmt_mac":null},"resources":{"cpu":"qemu","memory":"1G"}}', /deployment\.json.*name/),
    check('deployment.json with a bad MAC', INI, DEPLOYMENT.replace('70:B5:E8:E8:25:DE', '70:B5:E8'), /deployment\.json.*mgmt_mac/),
    check('deployment.json with an unknown cpu', INI, DEPLOYMENT.replace('"qemu"', '"tpu"'), /deployment\.json.*cpu/),
    check('deployment.json with a bad memory size', INI, DEPLOYMENT.replace('"1G"', '"lots"'), /deployment\.json.*memory/),
    { name: 'a key file that is not an SSH key', args: ['check-node-config', ...checkGood, '--keys', '{case}/keys'],
      files: { 'config.ini': INI, 'deployment.json': DEPLOYMENT, 'keys/admin': 'not a key\n' }, status: 1, message: /keys\/admin:1/ },
    { name: '--keys a file', args: ['check-node-config', ...checkGood, '--keys', '{hello.txt}'], files: { 'config.ini': INI, 'deployment.json': DEPLOYMENT }, status: 1, message: /hello\.txt.*(directory|folder)/ },
  ],
};

const hardwareGood = ['--deployment', '{node-config}/deployment.json', '--target', '{case}/target.img', '--archive', '{disk-img.tar.zst}', '--proc', '{proc-dir}'];
export const checkHardwareTable: BadInputTable = {
  command: 'check-hardware',
  cases: [
    ...usageCases('check-hardware', hardwareGood, '--target').map((c) => ({ ...c, files: { 'target.img': '' } })),
    ...notAFileCases('--archive', (v) => ['check-hardware', ...hardwareGood.map((a) => (a === '{disk-img.tar.zst}' ? v : a))], { skip: ['a symlink to a FIFO', '/dev/zero'] }).map((c) => ({ ...c, files: { 'target.img': '' } })),
    { name: 'a missing target', args: ['check-hardware', ...hardwareGood], status: 1, message: /target\.img.*no such file/ },
    { name: 'a target that is a directory', args: ['check-hardware', ...hardwareGood.map((a) => (a === '{case}/target.img' ? '{dir}' : a))], status: 1, message: /dir.*directory/ },
    { name: 'a --proc without cpuinfo', args: ['check-hardware', ...hardwareGood.map((a) => (a === '{proc-dir}' ? '{dir}' : a))], files: { 'target.img': '' }, status: 1, message: /cpuinfo/ },
    { name: 'an archive that is not an archive', args: ['check-hardware', ...hardwareGood.map((a) => (a === '{disk-img.tar.zst}' ? '{text}' : a))], files: { 'target.img': '' }, status: 1, message: /text/ },
  ],
};

const installGood = ['--target', '{case}/target.img', '--node-layout', '{layout.json}', '--host-archive', '{disk-img.tar.zst}', '--guest-archive', '{disk-img.tar.zst}', '--config-tree', '{dir}'];
const install = (name: string, replace: Record<string, string>, message: RegExp, files: Record<string, string> = { 'target.img': '' }): BadInputCase => ({
  name, args: ['install-node', ...installGood.map((a) => replace[a] ?? a)], files, status: 1, message,
});
export const installNodeTable: BadInputTable = {
  command: 'install-node',
  cases: [
    ...usageCases('install-node', installGood, '--target').map((c) => ({ ...c, files: { 'target.img': '' } })),
    install('a target too small', {}, /target\.img.*too small/),
    install('a missing host archive', { '{disk-img.tar.zst}': '{case}/missing.tar.zst' }, /missing\.tar\.zst/),
    install('a host archive that is not an archive', { '{disk-img.tar.zst}': '{text}' }, /text/),
    install('a corrupt host archive', { '{disk-img.tar.zst}': '{corrupt.tzst}' }, /corrupt\.tzst/),
    install('a node layout that is not JSON', { '{layout.json}': '{binary}' }, /binary/),
    install('a node layout without fields', { '{layout.json}': '{case}/layout.json' }, /layout\.json/, { 'target.img': '', 'layout.json': '{}' }),
    install('a config tree that is a file', { '{dir}': '{hello.txt}' }, /hello\.txt/),
    install('a missing config tree', { '{dir}': '{case}/no-tree' }, /no-tree/),
    install('the target is a FIFO', { '{case}/target.img': '{fifo}' }, /fifo/),
  ].map((c) => (c.name === 'the target is a FIFO' ? { ...c, process: true } : c)),
};

const vmGood = ['--vm', '{vm.json}', '--config-dir', '{node-config}', '--out-dir', '{out}'];
const guestVm = (name: string, replace: Record<string, string>, message: RegExp, more: Partial<BadInputCase> = {}): BadInputCase => ({
  name, args: ['guest-vm', ...vmGood.map((a) => replace[a] ?? a)], status: 1, message, ...more,
});
export const guestVmTable: BadInputTable = {
  command: 'guest-vm',
  cases: [
    ...usageCases('guest-vm', vmGood, '--vm'),
    ...notAFileCases('--vm', (v) => ['guest-vm', ...vmGood.map((a) => (a === '{vm.json}' ? v : a))], { skip: ['a symlink to a FIFO', '/dev/zero'] }),
    guestVm('a VM description that is not JSON', { '{vm.json}': '{binary}' }, /binary/),
    guestVm('a VM description of the wrong shape', { '{vm.json}': '{case}/vm.json' }, /vm\.json/, { files: { 'vm.json': '{"name": 5}' } }),
    guestVm('a config dir without deployment.json', { '{node-config}': '{dir}' }, /deployment\.json/),
    guestVm('a deployment.json that is not JSON', { '{node-config}': '{case}/cfg' }, /deployment\.json/, { files: { 'cfg/deployment.json': '{' } }),
    guestVm('a deployment.json memory that is no size', { '{node-config}': '{case}/cfg' }, /deployment\.json.*memory/,
      { files: { 'cfg/deployment.json': '{"deployment":{"name":"testnet","mgmt_mac":"70:B5:E8:E8:25:DE"},"resources":{"cpu":"qemu","memory":"x"}}' } }),
    guestVm('no MAC anywhere', { '{node-config}': '{case}/cfg' }, /mgmt_mac|--nic-mac/,
      { files: { 'cfg/deployment.json': '{"deployment":{"name":"testnet","mgmt_mac":null},"resources":{"cpu":"qemu","memory":"1G"}}' } }),
    { name: 'a bad --nic-mac', args: ['guest-vm', ...vmGood, '--nic-mac', '52:54:00'], status: 1, message: /--nic-mac "52:54:00"/ },
    guestVm('an --out-dir that is a file', { '{out}': '{hello.txt}' }, /hello\.txt/),
    guestVm('a missing --out-dir', { '{out}': '{out}/no/such' }, /no\/such/),
  ],
};
