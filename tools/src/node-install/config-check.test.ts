import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../errors.ts';
import { checkAuthorizedKeys, checkConfigIni, checkDeployment } from './config-check.ts';

const shown = (problems: ReturnType<typeof checkConfigIni>) => problems.map(formatProblem);
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEtest0000000000000000000000000000000000000000 admin@test';

describe('checkConfigIni', () => {
  it('accepts the medium\'s own config.ini and a full one', () => {
    expect(checkConfigIni(readFileSync('components/setupos/config/config.ini', 'utf8'), 'config.ini')).toEqual([]);
    const full = 'ipv6_prefix=2001:db8:0:1\nipv6_gateway=2001:db8:0:1::1\nipv4_address=192.0.2.10\nipv4_gateway=192.0.2.1\nipv4_prefix_length=24\ndomain=node.example.com\nnode_reward_type=type3.1\nverbose=false\n';
    expect(checkConfigIni(full, 'config.ini')).toEqual([]);
  });

  it('names every bad field with its line', () => {
    const text = ['ipv6_prefix=2001:db8::1', 'ipv6_gateway=nope', 'ipv4_address=300.1.1.1', 'domain=-bad-', 'node_reward_type=gold', 'verbose=yes', 'colour=blue', 'garbage'].join('\n');
    expect(shown(checkConfigIni(text, 'config.ini'))).toEqual([
      'config.ini:1: column "ipv6_prefix": "2001:db8::1": expected the four groups of a /64, e.g. 2001:db8:0:1',
      'config.ini:2: column "ipv6_gateway": "nope": expected an IPv6 address',
      'config.ini:3: column "ipv4_address": IPv4 needs all of ipv4_address, ipv4_gateway, ipv4_prefix_length or none (missing: ipv4_gateway, ipv4_prefix_length)',
      'config.ini:3: column "ipv4_address": "300.1.1.1": expected an IPv4 address such as 192.0.2.10',
      'config.ini:4: column "domain": "-bad-": expected a domain name such as node.example.com',
      'config.ini:5: column "node_reward_type": "gold": expected a reward type such as type3.1',
      'config.ini:6: column "verbose": "yes": expected true or false',
      'config.ini:7: column "colour": unknown key: expected one of ipv6_prefix, ipv6_gateway, ipv4_address, ipv4_gateway, ipv4_prefix_length, domain, node_reward_type, verbose',
      'config.ini:8: "garbage": expected key=value',
    ]);
    expect(shown(checkConfigIni('verbose=true\n', 'c.ini'))).toEqual([
      'c.ini: column "ipv6_prefix": missing: SetupOS needs the data centre\'s IPv6 prefix and gateway',
      'c.ini: column "ipv6_gateway": missing: SetupOS needs the data centre\'s IPv6 prefix and gateway',
    ]);
  });
});

describe('checkDeployment', () => {
  it('accepts both media\'s deployment.json and names bad fields', () => {
    for (const env of ['prod', 'dev']) expect(checkDeployment(readFileSync(`components/setupos/data/deployment-${env}.json`, 'utf8'), 'd.json')).toEqual([]);
    expect(checkDeployment('{"deployment":{"name":"Main Net","mgmt_mac":null},"resources":{"memory":"1"}}', 'd.json').map(formatProblem)).toEqual([
      'd.json: column "deployment.name": expected a lower-case deployment name such as mainnet or testnet',
    ]);
    expect(checkDeployment('{"deployment":{"name":"x","mgmt_mac":"zz"},"resources":{"memory":"1"}}', 'd.json')[0]!.message).toMatch(/mgmt_mac/);
  });
});

describe('checkAuthorizedKeys', () => {
  it('accepts keys and comments, and names a mangled key by line', () => {
    expect(checkAuthorizedKeys(`# admin\n${KEY}\n\n`, 'admin')).toEqual([]);
    expect(checkAuthorizedKeys(`${KEY}\nssh-ed25519 AAAAB3NzaC1yc2E= x\nnot a key\n`, 'admin').map(formatProblem)).toEqual([
      'admin:2: "ssh-ed25519 AAAAB3NzaC1yc2E= x": expected an OpenSSH public key ("ssh-ed25519 AAAA... comment")',
      'admin:3: "not a key": expected an OpenSSH public key ("ssh-ed25519 AAAA... comment")',
    ]);
  });
});
