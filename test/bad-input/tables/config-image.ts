import type { BadInputCase, BadInputTable } from '../case.ts';
import { badOutCases, notAFileCases, usageCases } from './common.ts';

const GOOD = ['--out', '{out}/config.img', '--bootstrap', '{tree.tar}'];
const STATIC = ['--ipv6-address', '2001:db8::10/64', '--ipv6-gateway', '2001:db8::1'];
const config = (name: string, extra: string[], message: RegExp): BadInputCase => ({ name, args: ['config-image', ...GOOD, ...extra], status: 1, message });

export const configImageTable: BadInputTable = {
  command: 'config-image',
  cases: [
    ...usageCases('config-image', [...GOOD, '--dhcp'], '--bootstrap'),
    ...notAFileCases('--bootstrap', (v) => ['config-image', '--out', '{out}/config.img', '--bootstrap', v, '--dhcp'], { skip: ['a symlink to a FIFO'] }),
    ...badOutCases((out) => ['config-image', '--out', out, '--bootstrap', '{tree.tar}', '--dhcp'], { skip: ['--out /dev/null', '--out empty'] }),
    { name: 'a bootstrap that is not a tar', args: ['config-image', '--out', '{out}/config.img', '--bootstrap', '{text}', '--dhcp'], status: 1, message: /text.*tar/ },
    config('an IPv6 address with a zone id', ['--ipv6-address', 'fe80::1%eth0/64', '--ipv6-gateway', 'fe80::2'], /--ipv6-address "fe80::1%eth0\/64"/),
    config('an IPv6 address without a prefix', ['--ipv6-address', '2001:db8::10', '--ipv6-gateway', '2001:db8::1'], /--ipv6-address "2001:db8::10"/),
    config('an IPv6 prefix over 128', ['--ipv6-address', '2001:db8::10/129', '--ipv6-gateway', '2001:db8::1'], /--ipv6-address/),
    config('an IPv6 gateway with a zone id', ['--ipv6-address', '2001:db8::10/64', '--ipv6-gateway', 'fe80::1%eth0'], /--ipv6-gateway "fe80::1%eth0"/),
    config('an IPv4 address out of range', ['--ipv4-address', '10.0.2.256/24', '--ipv4-gateway', '10.0.2.2'], /--ipv4-address "10\.0\.2\.256\/24"/),
    config('an IPv4 prefix over 32', ['--ipv4-address', '10.0.2.15/33', '--ipv4-gateway', '10.0.2.2'], /--ipv4-address/),
    config('an IPv4 address with leading zeros', ['--ipv4-address', '010.0.2.15/24', '--ipv4-gateway', '10.0.2.2'], /--ipv4-address/),
    config('a bad DNS server', [...STATIC, '--dns', 'dns.example'], /--dns "dns\.example"/),
    config('--dhcp and a static address', ['--dhcp', ...STATIC], /--dhcp/),
    config('neither --dhcp nor an address', [], /--dhcp|address/),
    config('an address without its gateway', ['--ipv6-address', '2001:db8::10/64'], /--ipv6-gateway/),
    config('a bad management MAC', ['--dhcp', '--mgmt-mac', '70:b5:e8:e8:25'], /--mgmt-mac "70:b5:e8:e8:25"/),
    config('a size that does not parse', ['--dhcp', '--size', 'small'], /--size "small"/),
    config('a size too small for the bootstrap', ['--dhcp', '--size', '64K'], /--size/),
    { name: 'a 0-byte bootstrap', args: ['config-image', '--out', '{out}/config.img', '--bootstrap', '{zero.tar}', '--dhcp'], status: 1, message: /zero\.tar/ },
  ],
};
