import { isIPv4, isIPv6 } from 'node:net';

/**
 * Whether `text` is an IPv6 address that a configuration file can carry: Node's isIPv6 also
 * accepts a zone id (`fe80::1%eth0`), which names an interface of the machine that wrote it and
 * means nothing (or something else) on the node, so it is refused.
 */
export function isPlainIPv6(text: string): boolean {
  return !text.includes('%') && isIPv6(text);
}

/** An IPv4 address or a plain IPv6 address (no zone id). */
export function isPlainIP(text: string): boolean {
  return isIPv4(text) || isPlainIPv6(text);
}
