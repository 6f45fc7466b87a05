import { isIPv4 } from 'node:net';
import { type Problem, UserError, ValidationError } from '../errors.ts';
import { parseConfigIni, parseDeployment, readConfigIniValues } from '../ic-node/node-config.ts';

/**
 * The node configuration an installer is given, checked before anything is written: config.ini
 * (every key IC-OS's SetupOS knows), deployment.json and the admin SSH keys. Every problem names
 * the file, its line and the key, so a node operator can fix the medium in one pass.
 */

/** config.ini keys and what each must look like (IC-OS's SetupOS config). */
const REQUIRED = ['ipv6_prefix', 'ipv6_gateway'] as const;
const IPV4_KEYS = ['ipv4_address', 'ipv4_gateway', 'ipv4_prefix_length'] as const;
const OTHER_KEYS = ['domain', 'node_reward_type', 'verbose'] as const;
const KNOWN = new Set<string>([...REQUIRED, ...IPV4_KEYS, ...OTHER_KEYS]);

const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const REWARD_TYPE = /^type[0-9]+(\.[0-9]+)?$/;

/** Problems of a SetupOS config.ini beyond the network keys HostOS reads (node-config.ts). */
export function checkConfigIni(text: string, file: string): Problem[] {
  const problems: Problem[] = [];
  try {
    parseConfigIni(text, file);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    problems.push(...error.problems);
  }
  const lineProblems: Problem[] = [];
  const values = readConfigIniValues(text, file, lineProblems);
  for (const [key, { line }] of values) {
    if (!KNOWN.has(key)) problems.push({ file, line, column: key, message: `unknown key: expected one of ${[...KNOWN].join(', ')}` });
  }
  for (const key of REQUIRED) {
    if (!values.has(key)) problems.push({ file, column: key, message: 'missing: SetupOS needs the data centre\'s IPv6 prefix and gateway' });
  }
  const ipv4 = IPV4_KEYS.filter((key) => values.has(key));
  if (ipv4.length > 0 && ipv4.length < IPV4_KEYS.length) {
    const first = values.get(ipv4[0]!)!;
    problems.push({ file, line: first.line, column: ipv4[0]!, message: `IPv4 needs all of ${IPV4_KEYS.join(', ')} or none (missing: ${IPV4_KEYS.filter((k) => !values.has(k)).join(', ')})` });
  }
  const check = (key: string, ok: (value: string) => boolean, rule: string) => {
    const entry = values.get(key);
    if (entry !== undefined && !ok(entry.value)) problems.push({ file, line: entry.line, column: key, message: `"${entry.value}": ${rule}` });
  };
  check('ipv4_address', isIPv4, 'expected an IPv4 address such as 192.0.2.10');
  check('ipv4_gateway', isIPv4, 'expected an IPv4 address such as 192.0.2.1');
  check('ipv4_prefix_length', (v) => /^[0-9]{1,2}$/.test(v) && Number(v) >= 1 && Number(v) <= 32, 'expected a prefix length from 1 to 32');
  check('domain', (v) => DOMAIN.test(v), 'expected a domain name such as node.example.com');
  check('node_reward_type', (v) => REWARD_TYPE.test(v), 'expected a reward type such as type3.1');
  check('verbose', (v) => v === 'true' || v === 'false', 'expected true or false');
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/** Problems of deployment.json (the schema HostOS reads it with). */
export function checkDeployment(text: string, file: string): Problem[] {
  try {
    parseDeployment(text, file);
    return [];
  } catch (error) {
    if (error instanceof ValidationError) return [...error.problems];
    // A malformed mgmt_mac: its message already starts with the file.
    if (error instanceof UserError) return [{ file, message: error.message.replace(`${file}: `, '') }];
    throw error;
  }
}

const KEY_TYPES = ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com'];

/** Problems of an authorized_keys file: every line that is not blank or a comment is one public key. */
export function checkAuthorizedKeys(text: string, file: string): Problem[] {
  const problems: Problem[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [type, blob] = line.split(/\s+/);
    // The key blob starts with its own type name: a pasted key cut short or mangled fails here.
    const decoded = blob !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(blob) ? Buffer.from(blob, 'base64') : undefined;
    const inner = decoded !== undefined && decoded.length > 4 ? decoded.toString('latin1', 4, 4 + decoded.readUInt32BE(0)) : undefined;
    if (!KEY_TYPES.includes(type!) || inner !== type) {
      problems.push({ file, line: index + 1, message: `"${line.length > 40 ? `${line.slice(0, 40)}...` : line}": expected an OpenSSH public key ("ssh-ed25519 AAAA... comment")` });
    }
  });
  return problems;
}
