import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { toolStatus, useTempDir } from '../../../test/support/tools.ts';
import { listenUnix, serveConnection } from './agent.ts';
import type { AgentContext } from './protocol.ts';

const context: AgentContext = { guestCid: 3, hostosVersion: () => '1.2.3\n' };
const GET_VERSION = '{"sender_cid":3,"message":"GetHostOSVersion"}';

/** Connects, sends `data` (then shuts the write side unless told not to) and returns everything received. */
function exchange(socketPath: string, data: string | Buffer, options: { shutWrite?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path: socketPath });
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => {}); // a reset after the answer (the host did not read everything) is expected
    socket.on('close', () => resolve(Buffer.concat(received).toString('utf8')));
    socket.write(data);
    if (options.shutWrite !== false) socket.end();
  });
}

describe('serveConnection on a Unix socket', () => {
  const temp = useTempDir('vsock-agent');
  const journal: string[] = [];
  const socketPath = temp.at('agent.sock');
  let server: net.Server;
  afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('answers a request ended by a newline, and one ended by the client shutting its write side', async () => {
    server = await listenUnix(socketPath, 3, context, (line) => journal.push(line), { timeoutMs: 2000 });
    expect(await exchange(socketPath, `${GET_VERSION}\n`, { shutWrite: false })).toBe('{"status":"ok","result":"1.2.3"}\n');
    expect(await exchange(socketPath, GET_VERSION)).toBe('{"status":"ok","result":"1.2.3"}\n');
    expect(journal.splice(0)).toEqual(['vsock-agent: GetHostOSVersion from CID 3: 1.2.3', 'vsock-agent: GetHostOSVersion from CID 3: 1.2.3']);
  });

  it('refuses raw malformed requests with a journal line each, and keeps serving', async () => {
    const cases: [string | Buffer, RegExp][] = [
      ['{"sender_cid":3,', /"reason":"request is not valid JSON: /],
      ['garbage\n', /"reason":"request is not valid JSON: /],
      [Buffer.from([0xc3, 0x28, 0x0a]), /"reason":"request is not valid UTF-8"/],
      ['[1,2,3]', /"reason":"request is not a JSON object"/],
      ['{"sender_cid":3,"message":"Reboot"}', /"reason":"message: unknown command \\"Reboot\\""/],
      ['{"sender_cid":3,"message":{"Notify":{"message":1,"count":"x"}}}', /"reason":"Notify.message: Expected string, received number; Notify.count: /],
      ['{"sender_cid":7,"message":"AttachHSM"}', /"reason":"sender_cid 7 does not match the peer CID 3"/],
      ['', /"reason":"request is empty"/],
    ];
    for (const [request, reason] of cases) {
      const answer = await exchange(socketPath, request);
      expect(answer).toMatch(/^\{"status":"refused","reason":"[^\n]*"\}\n$/);
      expect(answer).toMatch(reason);
      expect(journal.splice(0)).toEqual([expect.stringMatching(/^vsock-agent: refused request from CID 3: /)]);
    }
    expect(await exchange(socketPath, GET_VERSION)).toBe('{"status":"ok","result":"1.2.3"}\n');
    journal.splice(0);
  });

  it('reads only the first line: anything after the newline is ignored', async () => {
    expect(await exchange(socketPath, `${GET_VERSION}\n{"sender_cid":3,"message":"AttachHSM"}\n`)).toBe('{"status":"ok","result":"1.2.3"}\n');
    journal.splice(0);
  });

  it('refuses a request over 64 KiB without waiting for its end', async () => {
    // The client never shuts its write side: the answer comes once the cap is passed.
    const answer = await exchange(socketPath, `{"sender_cid":3,"message":"${'x'.repeat(100 * 1024)}`, { shutWrite: false });
    expect(answer).toBe('{"status":"refused","reason":"request is over 65536 bytes"}\n');
    expect(journal.splice(0)).toEqual(['vsock-agent: refused request from CID 3: request is over 65536 bytes']);
  });

  it('refuses a peer that sends no complete request in time', async () => {
    const quick = await listenUnix(temp.at('quick.sock'), 3, context, (line) => journal.push(line), { timeoutMs: 200 });
    try {
      expect(await exchange(temp.at('quick.sock'), '{"sender_cid":3', { shutWrite: false })).toBe(
        '{"status":"refused","reason":"no complete request within 0.2 s"}\n',
      );
      expect(journal.splice(0)).toEqual(['vsock-agent: refused request from CID 3: no complete request within 0.2 s']);
    } finally {
      await new Promise((resolve) => quick.close(resolve));
    }
  });

  it('serves every connection as the claimed peer CID', async () => {
    const other = await listenUnix(temp.at('other.sock'), 5, context, (line) => journal.push(line));
    try {
      expect(await exchange(temp.at('other.sock'), '{"sender_cid":5,"message":"GetHostOSVersion"}')).toBe(
        `{"status":"refused","reason":"peer CID 5 is not this host's GuestOS (CID 3)"}\n`,
      );
      expect(journal.splice(0)).toEqual(["vsock-agent: refused request from CID 5: peer CID 5 is not this host's GuestOS (CID 3)"]);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it('replaces a stale socket file but never another kind of file', async () => {
    const stalePath = temp.at('stale.sock');
    // An agent killed while listening leaves its socket file behind.
    const killed = toolStatus(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(stalePath)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(killed.status).toBe(-1);
    expect(lstatSync(stalePath).isSocket()).toBe(true);
    const fresh = await listenUnix(stalePath, 3, context, () => {});
    expect(await exchange(stalePath, GET_VERSION)).toBe('{"status":"ok","result":"1.2.3"}\n');
    await new Promise((resolve) => fresh.close(resolve));

    const regular = temp.at('regular-file');
    writeFileSync(regular, 'keep me');
    await expect(listenUnix(regular, 3, context, () => {})).rejects.toThrow(/EADDRINUSE/);
    expect(readFileSync(regular, 'utf8')).toBe('keep me');
  });
});

describe('serveConnection on other streams', () => {
  it('journals a stream error and resolves instead of throwing', async () => {
    const lines: string[] = [];
    const stream = new PassThrough();
    const served = serveConnection(stream, 3, context, (line) => lines.push(line));
    stream.destroy(new Error('connection reset'));
    await served;
    expect(lines).toEqual(['vsock-agent: connection from CID 3: connection reset']);
  });

  it('answers on a stdin/stdout style pair and survives a journal that throws', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const stream = Duplex.from({ readable: input, writable: output });
    input.end(`${GET_VERSION}\n`);
    await serveConnection(stream, 3, context, () => {
      throw new Error('journal down');
    });
    expect(output.read()?.toString()).toBe('{"status":"ok","result":"1.2.3"}\n');
  });

  it('refuses "version unknown" when the version is not text (a context outside its contract)', async () => {
    const lines: string[] = [];
    const input = new PassThrough();
    const output = new PassThrough();
    const weird = { guestCid: 3, hostosVersion: () => 42 as unknown as string };
    input.end(GET_VERSION);
    await serveConnection(Duplex.from({ readable: input, writable: output }), 3, weird, (line) => lines.push(line));
    expect(output.read()?.toString()).toBe('{"status":"refused","reason":"version unknown"}\n');
    expect(lines[0]).toMatch(/^vsock-agent: refused request from CID 3: version unknown: /);
  });
});
