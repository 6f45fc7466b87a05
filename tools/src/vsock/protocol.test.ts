import { describe, expect, it } from 'vitest';
import { type AgentContext, COMMAND_TABLE, encodeResponse, handleRequest, MAX_REQUEST_BYTES, printable, ResponseSchema, VSOCK_PORT } from './protocol.ts';

const HASH = 'ab'.repeat(32);
const context: AgentContext = { guestCid: 3, hostosVersion: () => ' 2024-05-01.abc\n' };

/** Sends `message` as CID 3 (or `sender`) and returns the response and journal. */
function ask(message: unknown, options: { sender?: number; peer?: number; context?: AgentContext } = {}) {
  const raw = JSON.stringify({ sender_cid: options.sender ?? 3, message });
  return handleRequest(raw, options.peer ?? 3, options.context ?? context);
}

function expectRefused(result: ReturnType<typeof handleRequest>, reason: string | RegExp, peer = 3) {
  expect(result.response.status).toBe('refused');
  const actual = result.response.status === 'refused' ? result.response.reason : '';
  if (typeof reason === 'string') expect(actual).toBe(reason);
  else expect(actual).toMatch(reason);
  // Every refusal is journalled with the peer CID, on one line.
  expect(result.journal).toHaveLength(1);
  expect(result.journal[0]).toMatch(new RegExp(`^vsock-agent: refused request from CID ${peer}: `));
  expect(result.journal[0]).not.toContain('\n');
}

describe('handleRequest: commands', () => {
  it('answers GetHostOSVersion with the trimmed version', () => {
    const result = ask('GetHostOSVersion');
    expect(result.response).toEqual({ status: 'ok', result: '2024-05-01.abc' });
    expect(result.journal).toEqual(['vsock-agent: GetHostOSVersion from CID 3: 2024-05-01.abc']);
  });

  it('refuses GetHostOSVersion when the version cannot be read, without leaking why to the guest', () => {
    const broken: AgentContext = {
      guestCid: 3,
      hostosVersion: () => {
        throw new Error('ENOENT: /opt/ic/share/version.txt');
      },
    };
    const result = ask('GetHostOSVersion', { context: broken });
    expectRefused(result, 'version unknown');
    expect(result.journal[0]).toContain('ENOENT: /opt/ic/share/version.txt');
    expectRefused(ask('GetHostOSVersion', { context: { guestCid: 3, hostosVersion: () => ' \n' } }), 'version unknown');
  });

  it('journals a notification COUNT times and answers ok', () => {
    const result = ask({ Notify: { message: 'disk replaced', count: 3 } });
    expect(result.response).toEqual({ status: 'ok', result: '' });
    expect(result.journal).toEqual(Array(3).fill('vsock-agent: notify from CID 3: disk replaced'));
  });

  it('keeps a notification on one journal line: control and bidi characters escaped, UTF-8 kept', () => {
    const result = ask({ Notify: { message: 'a "q" \\ b\nvsock-agent: forged\u202e ü€😀\u0000', count: 1 } });
    expect(result.journal).toEqual(['vsock-agent: notify from CID 3: a "q" \\\\ b\\nvsock-agent: forged\\u{202e} ü€😀\\u{0}']);
  });

  it('accepts a notification of exactly 2048 characters (counted in code points) and 100 repeats', () => {
    expect(ask({ Notify: { message: '😀'.repeat(2048), count: 100 } }).journal).toHaveLength(100);
    expectRefused(ask({ Notify: { message: 'x'.repeat(2049), count: 1 } }), 'Notify.message: must be at most 2048 characters');
  });

  it('refuses count 0 and 101, fractions and strings', () => {
    expectRefused(ask({ Notify: { message: 'm', count: 0 } }), 'Notify.count: must be 1 to 100');
    expectRefused(ask({ Notify: { message: 'm', count: 101 } }), 'Notify.count: must be 1 to 100');
    expectRefused(ask({ Notify: { message: 'm', count: 1.5 } }), /^Notify\.count: Expected integer/);
    expectRefused(ask({ Notify: { message: 'm', count: '2' } }), /^Notify\.count: Expected number, received string/);
    expectRefused(ask({ Notify: { message: 42, count: 1 } }), /^Notify\.message: Expected string, received number/);
    expectRefused(ask({ Notify: { message: 'm' } }), /^Notify\.count: Required/);
    expectRefused(ask({ Notify: { message: 'm', count: 1, colour: 'red' } }), /^Notify: Unrecognized key\(s\) in object: 'colour'/);
  });

  it('checks an upgrade fully, then answers "not yet"', () => {
    expectRefused(ask({ Upgrade: { url: 'https://download.example/update-img.tar.zst', target_hash: HASH } }), 'not yet: HostOS upgrades are not implemented');
    expectRefused(ask({ Upgrade: { url: 'http://[fd00::1]:8080/u', target_hash: HASH } }), 'not yet: HostOS upgrades are not implemented');
  });

  it('refuses a bad upgrade URL, scheme or hash, naming the field', () => {
    expectRefused(ask({ Upgrade: { url: 'not a url', target_hash: HASH } }), 'Upgrade.url: "not a url" is not a URL');
    expectRefused(ask({ Upgrade: { url: 'ftp://example.com/u', target_hash: HASH } }), 'Upgrade.url: "ftp://example.com/u": scheme "ftp:" is not https or http');
    expectRefused(ask({ Upgrade: { url: 'file:///etc/shadow', target_hash: HASH } }), /^Upgrade\.url: .*scheme "file:"/);
    expectRefused(ask({ Upgrade: { url: 'https://x/u', target_hash: HASH.toUpperCase() } }), /^Upgrade\.target_hash: must be a SHA-256/);
    expectRefused(ask({ Upgrade: { url: 'https://x/u', target_hash: HASH.slice(1) } }), /^Upgrade\.target_hash: must be a SHA-256/);
    expectRefused(ask({ Upgrade: { url: 'https://x/u', target_hash: `${HASH}0` } }), /^Upgrade\.target_hash: must be a SHA-256/);
    expectRefused(ask({ Upgrade: { url: 'https://x/u' } }), /^Upgrade\.target_hash: Required/);
  });

  it('answers the commands that come later with "not yet" and the HSM ones with "not supported"', () => {
    expectRefused(ask('StartUpgradeGuestVM'), 'not yet: starting the GuestOS upgrade VM is not implemented');
    expectRefused(ask('AttachHSM'), 'not supported: this HostOS has no HSM');
    expectRefused(ask('DetachHSM'), 'not supported: this HostOS has no HSM');
  });

  it('names every client command after its JSON variant', () => {
    expect(COMMAND_TABLE.map((c) => `${c.name}=${c.variant}`)).toEqual([
      'get-hostos-version=GetHostOSVersion',
      'notify=Notify',
      'upgrade=Upgrade',
      'start-upgrade-guest-vm=StartUpgradeGuestVM',
      'attach-hsm=AttachHSM',
      'detach-hsm=DetachHSM',
    ]);
    expect(VSOCK_PORT).toBe(19090);
  });
});

describe('handleRequest: refusals', () => {
  it('refuses malformed JSON', () => {
    expectRefused(handleRequest('{"sender_cid": 3, "message": ', 3, context), /^request is not valid JSON: /);
    expectRefused(handleRequest('', 3, context), 'request is empty');
    expectRefused(handleRequest(Buffer.from([0x7b, 0xff, 0x7d]), 3, context), 'request is not valid UTF-8');
  });

  it('refuses JSON that is not an object', () => {
    for (const raw of ['[]', '"GetHostOSVersion"', '42', 'null']) expectRefused(handleRequest(raw, 3, context), 'request is not a JSON object');
  });

  it('refuses unknown commands and wrongly shaped messages', () => {
    expectRefused(ask('Reboot'), 'message: unknown command "Reboot"');
    expectRefused(ask({ Reboot: {} }), 'message: unknown command "Reboot"');
    expectRefused(ask('GetVsockProtocol'), 'message: unknown command "GetVsockProtocol"');
    expectRefused(ask('Notify'), /^message: Notify needs data/);
    expectRefused(ask({ AttachHSM: null }), /^message: AttachHSM takes no data/);
    expectRefused(ask({ AttachHSM: null, DetachHSM: null }), /^message: expected a command name/);
    expectRefused(ask(7), /^message: expected a command name/);
    expectRefused(ask(null), /^message: expected a command name/);
    expectRefused(ask({ Notify: 'hello' }), /^Notify: Expected object, received string/);
  });

  it('refuses wrong envelope types and fields', () => {
    expectRefused(handleRequest('{"sender_cid":"3","message":"AttachHSM"}', 3, context), /^sender_cid: Expected number, received string/);
    expectRefused(handleRequest('{"sender_cid":-1,"message":"AttachHSM"}', 3, context), /^sender_cid: /);
    expectRefused(handleRequest('{"sender_cid":3.5,"message":"AttachHSM"}', 3, context), /^sender_cid: Expected integer/);
    expectRefused(handleRequest('{"message":"AttachHSM"}', 3, context), /^sender_cid: Required/);
    expectRefused(handleRequest('{"sender_cid":3,"message":"AttachHSM","extra":1}', 3, context), /^request: Unrecognized key/);
  });

  it('refuses a sender_cid that is not the peer CID', () => {
    expectRefused(ask('GetHostOSVersion', { sender: 4 }), 'sender_cid 4 does not match the peer CID 3');
  });

  it('refuses any peer but this host\'s GuestOS, whatever it claims', () => {
    expectRefused(ask('GetHostOSVersion', { sender: 5, peer: 5 }), "peer CID 5 is not this host's GuestOS (CID 3)", 5);
    expectRefused(ask('GetHostOSVersion', { sender: 3, peer: 5 }), "peer CID 5 is not this host's GuestOS (CID 3)", 5);
    expectRefused(handleRequest('garbage', 2, context), "peer CID 2 is not this host's GuestOS (CID 3)", 2);
  });

  it('refuses a request over 64 KiB, and accepts one of exactly 64 KiB', () => {
    const request = (size: number) => {
      const base = JSON.stringify({ sender_cid: 3, message: 'GetHostOSVersion' });
      return base.slice(0, -1) + ' '.repeat(size - base.length) + '}';
    };
    expect(Buffer.byteLength(request(MAX_REQUEST_BYTES))).toBe(65536);
    expect(handleRequest(request(MAX_REQUEST_BYTES), 3, context).response.status).toBe('ok');
    expectRefused(handleRequest(request(MAX_REQUEST_BYTES + 1), 3, context), 'request is over 65536 bytes');
  });

  it('cuts guest values short in a refusal', () => {
    const result = ask('X'.repeat(10_000));
    expect(result.response.status === 'refused' && result.response.reason.length).toBeLessThan(120);
  });
});

describe('responses', () => {
  it('are one JSON object and a newline, matching the schema', () => {
    const line = encodeResponse({ status: 'refused', reason: 'a "b"\nc' });
    expect(line).toBe('{"status":"refused","reason":"a \\"b\\"\\nc"}\n');
    expect(ResponseSchema.parse(JSON.parse(line))).toEqual({ status: 'refused', reason: 'a "b"\nc' });
    expect(ResponseSchema.safeParse({ status: 'ok' }).success).toBe(false);
  });

  it('printable leaves plain text alone', () => {
    expect(printable('HostOS 1.2.3 ü')).toBe('HostOS 1.2.3 ü');
  });
});
