import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { isPlainIP, isPlainIPv6 } from '../../lib/ip-address.ts';

/**
 * Network settings of a GuestOS node, written to the config device as `network.conf` (KEY=VALUE
 * lines) and turned into systemd-networkd files by generate-network-config in the VM.
 */
export interface NetworkSettings {
  ipv4Address?: string;
  ipv4Gateway?: string;
  ipv6Address?: string;
  ipv6Gateway?: string;
  dns: string[];
  dhcp: boolean;
  mgmtMac?: string;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function isPrefixed(value: string, family: 4 | 6): boolean {
  const slash = value.lastIndexOf('/');
  if (slash < 0) return false;
  const prefix = value.slice(slash + 1);
  const maxPrefix = family === 4 ? 32 : 128;
  const address = value.slice(0, slash);
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix && (family === 4 ? isIPv4(address) : isPlainIPv6(address));
}

/** zod fields of the network settings, each rejecting what generate-network-config would. */
export const networkFields = {
  ipv4Address: z.string().refine((v) => isPrefixed(v, 4), 'expected an IPv4 address with a prefix length, e.g. 10.0.2.15/24').optional(),
  ipv4Gateway: z.string().refine(isIPv4, 'expected an IPv4 address, e.g. 10.0.2.2').optional(),
  ipv6Address: z.string().refine((v) => isPrefixed(v, 6), 'expected an IPv6 address (no %zone) with a prefix length, e.g. 2001:db8::10/64').optional(),
  ipv6Gateway: z.string().refine(isPlainIPv6, 'expected an IPv6 address (no %zone), e.g. 2001:db8::1').optional(),
  dns: z.array(z.string().refine(isPlainIP, 'expected an IPv4 or IPv6 address (no %zone)')).default([]),
  dhcp: z.boolean().default(false),
  mgmtMac: z
    .string()
    .transform((v) => v.toLowerCase())
    .refine((v) => MAC.test(v), 'expected six hex pairs separated by colons, e.g. 52:54:00:12:34:56')
    .optional(),
};

/** The `network.conf` text: fixed key order, so the same settings give the same bytes. */
export function renderNetworkConf(settings: NetworkSettings): string {
  const lines = ['# GuestOS network settings (icos config-image), read by generate-network-config'];
  const add = (key: string, value: string | undefined) => {
    if (value !== undefined) lines.push(`${key}=${value}`);
  };
  add('ipv4_address', settings.ipv4Address);
  add('ipv4_gateway', settings.ipv4Gateway);
  add('ipv6_address', settings.ipv6Address);
  add('ipv6_gateway', settings.ipv6Gateway);
  if (settings.dns.length > 0) add('dns', settings.dns.join(','));
  add('dhcp', settings.dhcp ? 'yes' : 'no');
  add('mgmt_mac', settings.mgmtMac);
  return `${lines.join('\n')}\n`;
}
