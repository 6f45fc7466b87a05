import { isIPv6 } from 'node:net';
import { isPlainIPv6 } from '../lib/ip-address.ts';
import { z } from 'zod';
import { type Problem, ValidationError } from '../errors.ts';
import { parseSize } from '../lib/size.ts';
import { notJson, quoted } from '../messages.ts';
import { normaliseMac } from './deterministic-mac.ts';

/**
 * The node configuration SetupOS leaves on HostOS's config volume, as far as running the guest
 * VM needs it: `deployment.json` (deployment name, management MAC, VM resources) and
 * `config.ini` (the IPv6 prefix and gateway of the data-centre network).
 */

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** Upstream writes memory as GiB in a string ("490"); a unit (512M, 2G) is also accepted. */
const memorySchema = z.union([z.number().positive(), z.string().min(1)]).transform((value, ctx) => {
  const text = String(value).trim();
  try {
    const bytes = /^\d+(\.\d+)?$/.test(text) ? Math.round(Number(text) * GIB) : parseSize(text, 'memory');
    if (bytes < 256 * MIB) throw new Error('less than 256 MiB');
    return Math.floor(bytes / MIB);
  } catch (error) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${quoted(text)}: expected GiB ("490") or a size with a unit ("512M") of at least 256 MiB (${(error as Error).message})` });
    return z.NEVER;
  }
});

const deploymentSchema = z.object({
  deployment: z.object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a lower-case deployment name such as mainnet or testnet'),
    mgmt_mac: z.string().nullable().default(null),
  }),
  resources: z
    .object({
      /** `qemu` when the machine has no KVM (test VMs): software emulation, no host CPU passthrough. */
      cpu: z.enum(['kvm', 'qemu']).default('kvm'),
      memory: memorySchema,
      vcpus: z.number().int().min(1).max(512).optional(),
    })
    .strict(),
});

export interface DeploymentConfig {
  name: string;
  /** Normalised, or null: SetupOS did not record one (read from the NIC then). */
  mgmtMac: string | null;
  cpu: 'kvm' | 'qemu';
  memoryMiB: number;
  vcpus: number | undefined;
}

/** Parses a JSON file against a schema; every problem names the file and the JSON path. */
export function parseJsonFile<T>(text: string, file: string, schema: z.ZodType<T, z.ZodTypeDef, unknown>): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ValidationError([{ file, message: notJson(error) }]);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new ValidationError(result.error.issues.map((issue) => ({ file, column: issue.path.join('.'), message: issue.message })));
  }
  return result.data;
}

/** Parses deployment.json. */
export function parseDeployment(text: string, file: string): DeploymentConfig {
  const { deployment, resources } = parseJsonFile(text, file, deploymentSchema);
  const mgmtMac = deployment.mgmt_mac === null ? null : normaliseMac(deployment.mgmt_mac, `${file}: deployment.mgmt_mac`);
  return { name: deployment.name, mgmtMac, cpu: resources.cpu, memoryMiB: resources.memory, vcpus: resources.vcpus };
}

export interface NetworkConfig {
  /** The /64 the node's addresses are made in, e.g. 2001:db8:0:1 (four groups, no ::). */
  ipv6Prefix?: string;
  ipv6Gateway?: string;
}

const KEY = /^([a-z0-9_]+)\s*=\s*(.*)$/;

/** A config.ini value and the 1-based line it is on. */
export interface IniValue {
  value: string;
  line: number;
}

/** The `key=value` lines of config.ini (`#` comments, blank lines); malformed and repeated keys are problems. */
export function readConfigIniValues(text: string, file: string, problems: Problem[]): Map<string, IniValue> {
  const values = new Map<string, IniValue>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = KEY.exec(line);
    if (match === null) {
      problems.push({ file, line: index + 1, message: `${quoted(line)}: expected key=value` });
      return;
    }
    if (values.has(match[1]!)) problems.push({ file, line: index + 1, message: `${quoted(match[1]!)} is set twice (first on line ${values.get(match[1]!)!.line})` });
    values.set(match[1]!, { value: match[2]!.trim(), line: index + 1 });
  });
  return values;
}

/** Parses the network keys of config.ini; other keys are kept for other readers. */
export function parseConfigIni(text: string, file: string): NetworkConfig {
  const problems: Problem[] = [];
  const values = readConfigIniValues(text, file, problems);
  const prefix = values.get('ipv6_prefix');
  if (prefix !== undefined && !(/^[0-9a-f]{1,4}(:[0-9a-f]{1,4}){3}$/i.test(prefix.value) && isIPv6(`${prefix.value}::`))) {
    problems.push({ file, line: prefix.line, column: 'ipv6_prefix', message: `${quoted(prefix.value)}: expected the four groups of a /64, e.g. 2001:db8:0:1` });
  }
  const gateway = values.get('ipv6_gateway');
  if (gateway !== undefined && !isPlainIPv6(gateway.value)) {
    problems.push({ file, line: gateway.line, column: 'ipv6_gateway', message: `${quoted(gateway.value)}: expected an IPv6 address` });
  }
  if (gateway !== undefined && prefix === undefined) {
    problems.push({ file, line: gateway.line, column: 'ipv6_gateway', message: 'a gateway needs ipv6_prefix' });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return { ipv6Prefix: prefix?.value.toLowerCase(), ipv6Gateway: gateway?.value.toLowerCase() };
}

/** The SLAAC address (modified EUI-64) an interface with `mac` takes in the /64 `prefix`. */
export function slaacAddress(prefix: string, mac: string): string {
  const bytes = mac.split(':').map((part) => parseInt(part, 16));
  bytes[0] = bytes[0]! ^ 0x02;
  const eui = [...bytes.slice(0, 3), 0xff, 0xfe, ...bytes.slice(3)];
  const groups = [0, 2, 4, 6].map((i) => ((eui[i]! << 8) | eui[i + 1]!).toString(16));
  return `${prefix}:${groups.join(':')}`;
}
