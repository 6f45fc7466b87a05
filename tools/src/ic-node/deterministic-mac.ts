import { createHash } from 'node:crypto';
import { UserError } from '../errors.ts';
import { quoted } from '../messages.ts';

/**
 * The IC's deterministic MAC scheme: every interface of a node gets a MAC derived from the
 * management MAC (which identifies the machine) and the deployment, so the same machine has the
 * same addresses on every boot and install. The scheme names node types, not our images: these
 * indices are IC facts (ic-os-runtime-facts section 1).
 *
 *   seed = "<mgmt MAC, lower case, colons><deployment>\n"
 *   MAC  = [prefix, node index, sha256(seed)[0..4]]
 */

/** Second byte of the MAC: which kind of node the interface belongs to. */
export const NODE_TYPE_INDEX = {
  setupos: 0x0f,
  hostos: 0x00,
  guestos: 0x01,
  boundary: 0x02,
} as const;

export type NodeType = keyof typeof NODE_TYPE_INDEX;
export const NODE_TYPES = Object.keys(NODE_TYPE_INDEX) as NodeType[];

/** First byte: locally administered unicast, one per address family of the interface. */
export const IP_VERSION_PREFIX = { 4: 0x4a, 6: 0x6a } as const;
export type IpVersion = keyof typeof IP_VERSION_PREFIX;

const MAC_TEXT = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i;

/**
 * The management MAC as the scheme hashes it: lower case, colon separated. Upper or lower case
 * and colons or dashes are accepted (what BMCs and operators write); `where` names the input in
 * the error.
 */
export function normaliseMac(text: string, where: string): string {
  const trimmed = text.trim();
  if (!MAC_TEXT.test(trimmed)) {
    throw new UserError(`${where} ${quoted(text)}: expected six hex pairs separated by colons or dashes, e.g. 70:b5:e8:e8:25:de`);
  }
  return trimmed.toLowerCase().replaceAll('-', ':');
}

export interface MacRequest {
  /** Already normalised (normaliseMac). */
  mgmtMac: string;
  deployment: string;
  nodeType: NodeType;
  ipVersion: IpVersion;
}

/** The interface MAC of one node type and address family, `aa:bb:cc:dd:ee:ff`. */
export function deterministicMac(request: MacRequest): string {
  const digest = createHash('sha256').update(`${request.mgmtMac}${request.deployment}\n`).digest();
  const bytes = [IP_VERSION_PREFIX[request.ipVersion], NODE_TYPE_INDEX[request.nodeType], ...digest.subarray(0, 4)];
  return bytes.map((byte) => byte.toString(16).padStart(2, '0')).join(':');
}
