/**
 * The GuestOS → HostOS VSOCK protocol: one JSON request, one JSON response line, then the host
 * closes. Requests are shaped like upstream's serde types (`{"sender_cid": N, "message": M}`, M an
 * externally tagged enum) so the GuestOS side can stay a small C client. Everything here is pure:
 * the transport (agent.ts) reads bytes and writes the response; this file decides what they mean.
 *
 * The host trusts nothing the guest sends: every field is checked here even though the client
 * checks the same rules first.
 */
import { z } from 'zod';

export const VSOCK_PORT = 19090;
/** Largest request accepted; the transport stops reading one byte past it. */
export const MAX_REQUEST_BYTES = 64 * 1024;
export const MAX_NOTIFY_CHARS = 2048;
export const MAX_NOTIFY_COUNT = 100;

const Cid = z.number().int().min(0).max(0xffff_ffff);

export const NotifyDataSchema = z
  .object({
    // Counted in code points, as the C client counts UTF-8 sequences.
    message: z.string().refine((s) => [...s].length <= MAX_NOTIFY_CHARS, `must be at most ${MAX_NOTIFY_CHARS} characters`),
    count: z.number().int().min(1, 'must be 1 to 100').max(MAX_NOTIFY_COUNT, 'must be 1 to 100'),
  })
  .strict();

export const UpgradeDataSchema = z
  .object({
    url: z.string().superRefine((value, ctx) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${quote(value)} is not a URL` });
        return;
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${quote(value)}: scheme ${quote(url.protocol)} is not https or http` });
      }
    }),
    target_hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256: 64 lower-case hex digits'),
  })
  .strict();

/** The envelope; `message` is checked separately so a refusal can name the exact command field. */
export const RequestSchema = z.object({ sender_cid: Cid, message: z.unknown() }).strict();

export const ResponseSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('ok'), result: z.string() }).strict(),
  z.object({ status: z.literal('refused'), reason: z.string() }).strict(),
]);
export type AgentResponse = z.infer<typeof ResponseSchema>;

/**
 * Client command names (vsock_guest COMMAND) and the JSON `message` each sends: a bare string for
 * unit variants, `{"Variant": data}` for the others. vsock_guest.c holds the same table.
 */
export const COMMAND_TABLE = [
  { name: 'get-hostos-version', variant: 'GetHostOSVersion' },
  { name: 'notify', variant: 'Notify', data: NotifyDataSchema },
  { name: 'upgrade', variant: 'Upgrade', data: UpgradeDataSchema },
  { name: 'start-upgrade-guest-vm', variant: 'StartUpgradeGuestVM' },
  { name: 'attach-hsm', variant: 'AttachHSM' },
  { name: 'detach-hsm', variant: 'DetachHSM' },
] as const;

export type Command =
  | { variant: 'GetHostOSVersion' | 'StartUpgradeGuestVM' | 'AttachHSM' | 'DetachHSM' }
  | { variant: 'Notify'; data: z.infer<typeof NotifyDataSchema> }
  | { variant: 'Upgrade'; data: z.infer<typeof UpgradeDataSchema> };

/** The only I/O the protocol needs, injected so handleRequest stays pure. */
export interface AgentContext {
  /** CID the host gave its GuestOS: the only peer served. */
  guestCid: number;
  /** The HostOS version; may throw (answered "version unknown"). */
  hostosVersion(): string;
}

const ok = (result: string): AgentResponse => ({ status: 'ok', result });
export const refused = (reason: string): AgentResponse => ({ status: 'refused', reason });

/** The bytes sent back: one JSON object and a newline. */
export function encodeResponse(response: AgentResponse): string {
  return `${JSON.stringify(response)}\n`;
}

/** A guest-supplied value for a message, quoted and cut short (a refusal must stay small). */
function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}

const UNPRINTABLE = /[\\\p{Cc}\p{Cs}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
const NAMED_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Guest text made safe for one journal line: control, line-separator, surrogate and bidi
 * characters are shown escaped (and backslash doubled), so a guest cannot start forged journal
 * lines or reorder what the console shows.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => NAMED_ESCAPES[c] ?? `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

function issuesText(error: z.ZodError, prefix: string): string {
  const where = (path: (string | number)[]) => [prefix, ...path].filter((p) => p !== '').join('.') || 'request';
  return error.issues.map((issue) => `${where(issue.path)}: ${issue.message}`).join('; ');
}

/** Reads the `message` enum; returns the command or the reason to refuse it. */
export function parseCommand(message: unknown): Command | { error: string } {
  if (typeof message === 'string') {
    const entry = COMMAND_TABLE.find((c) => c.variant === message);
    if (entry === undefined) return { error: `message: unknown command ${quote(message)}` };
    if ('data' in entry) return { error: `message: ${entry.variant} needs data: {"${entry.variant}": {...}}` };
    return { variant: entry.variant };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message) || Object.keys(message).length !== 1) {
    return { error: 'message: expected a command name or an object with one command key' };
  }
  const [key, body] = Object.entries(message)[0]!;
  const entry = COMMAND_TABLE.find((c) => c.variant === key);
  if (entry === undefined) return { error: `message: unknown command ${quote(key)}` };
  if (!('data' in entry)) return { error: `message: ${entry.variant} takes no data: send "${entry.variant}"` };
  if (entry.variant === 'Notify') {
    const parsed = NotifyDataSchema.safeParse(body);
    return parsed.success ? { variant: 'Notify', data: parsed.data } : { error: issuesText(parsed.error, 'Notify') };
  }
  const parsed = UpgradeDataSchema.safeParse(body);
  return parsed.success ? { variant: 'Upgrade', data: parsed.data } : { error: issuesText(parsed.error, 'Upgrade') };
}

/**
 * Answers one raw request from the peer with VSOCK CID `peerCid`. Never throws: every bad input
 * becomes a refusal plus a journal line naming the peer, so the host keeps serving.
 */
export function handleRequest(raw: Buffer | string, peerCid: number, context: AgentContext): { response: AgentResponse; journal: string[] } {
  const refuse = (reason: string, detail = reason) => ({
    response: refused(reason),
    journal: [`vsock-agent: refused request from CID ${peerCid}: ${printable(detail)}`],
  });
  // Checked before reading anything: only our own GuestOS may talk to this host.
  if (peerCid !== context.guestCid) return refuse(`peer CID ${peerCid} is not this host's GuestOS (CID ${context.guestCid})`);
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  if (bytes.length > MAX_REQUEST_BYTES) return refuse(`request is over ${MAX_REQUEST_BYTES} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return refuse('request is not valid UTF-8');
  }
  if (text.trim() === '') return refuse('request is empty');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return refuse(`request is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return refuse('request is not a JSON object');
  const envelope = RequestSchema.safeParse(json);
  if (!envelope.success) return refuse(issuesText(envelope.error, ''));
  if (envelope.data.sender_cid !== peerCid) return refuse(`sender_cid ${envelope.data.sender_cid} does not match the peer CID ${peerCid}`);
  const command = parseCommand(envelope.data.message);
  if ('error' in command) return refuse(command.error);

  switch (command.variant) {
    case 'GetHostOSVersion': {
      let version: string;
      try {
        version = context.hostosVersion().trim();
      } catch (error) {
        return refuse('version unknown', `version unknown: ${(error as Error)?.message ?? String(error)}`);
      }
      if (version === '') return refuse('version unknown', 'version unknown: the version file is empty');
      return { response: ok(version), journal: [`vsock-agent: GetHostOSVersion from CID ${peerCid}: ${printable(version)}`] };
    }
    case 'Notify': {
      const line = `vsock-agent: notify from CID ${peerCid}: ${printable(command.data.message)}`;
      return { response: ok(''), journal: Array.from({ length: command.data.count }, () => line) };
    }
    case 'Upgrade':
      // Checked above so a bad request is told so now; the A/B upgrade itself comes later.
      return refuse('not yet: HostOS upgrades are not implemented');
    case 'StartUpgradeGuestVM':
      return refuse('not yet: starting the GuestOS upgrade VM is not implemented');
    case 'AttachHSM':
    case 'DetachHSM':
      return refuse('not supported: this HostOS has no HSM');
  }
}
