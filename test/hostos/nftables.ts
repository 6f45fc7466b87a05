/**
 * `nft -j list ruleset` reduced to what the HostOS documents' firewall tables speak of: per chain,
 * its policy and its rules as words ("ip saddr @rfc1918 tcp dport 22 accept"), and each named
 * set's elements. A machine reading of nft's JSON, so a rule that only looks right fails.
 */

type Json = Record<string, any>;

export interface Ruleset {
  chains: Record<string, { hook: string; policy: string; rules: string[] }>;
  sets: Record<string, string[]>;
}

function operand(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  const json = value as Json;
  if (Array.isArray(json)) return json.map(operand).join(',');
  if ('set' in json) return operand(json.set);
  if ('prefix' in json) return `${json.prefix.addr}/${json.prefix.len}`;
  if ('payload' in json) return `${json.payload.protocol} ${json.payload.field}`;
  if ('meta' in json) return `meta ${json.meta.key}`;
  if ('ct' in json) return `ct ${json.ct.key}`;
  if ('range' in json) return json.range.map(operand).join('-');
  return JSON.stringify(json);
}

function statement(expr: Json): string {
  if ('match' in expr) {
    const { left, right, op } = expr.match;
    const relation = op === '==' || op === 'in' ? '' : ` ${op}`;
    return `${operand(left)}${relation} ${operand(right)}`;
  }
  for (const verdict of ['accept', 'drop', 'reject', 'return']) if (verdict in expr) return verdict;
  return JSON.stringify(expr);
}

/** Parses the output of `nft -j list ruleset` for table `family`/`table`. */
export function readRuleset(text: string, family = 'inet', table = 'filter'): Ruleset {
  const items = (JSON.parse(text).nftables as Json[]).filter((item) => {
    const body = Object.values(item)[0] as Json;
    return body.family === family && body.table === table;
  });
  const chains: Ruleset['chains'] = {};
  const sets: Ruleset['sets'] = {};
  for (const item of items) {
    if ('chain' in item) chains[item.chain.name] = { hook: item.chain.hook ?? '', policy: item.chain.policy ?? '', rules: [] };
    if ('set' in item) sets[item.set.name] = (item.set.elem ?? []).map(operand);
  }
  for (const item of items) {
    if ('rule' in item) chains[item.rule.chain]!.rules.push((item.rule.expr as Json[]).map(statement).join(' '));
  }
  return { chains, sets };
}
