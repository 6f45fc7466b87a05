import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ICOS_BIN, icosInProcess, tool, toolStatus, useTempDir } from '../../../test/support/tools.ts';

const CLIENT_SOURCE = path.resolve(import.meta.dirname, '../../../components/guestos/vsock/vsock_guest.c');
const HASH = '0123456789abcdef'.repeat(4);

/**
 * The agent runs in a worker thread of this process: toolStatus runs the client synchronously,
 * which blocks this thread's event loop, so a server on it could never answer. The worker has its
 * own loop and loads agent.ts through tsx; its journal lines come back as messages.
 */
const AGENT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { tsImport } = await import(workerData.tsxApi);
  const { serveConnection } = await tsImport(workerData.agentUrl, workerData.agentUrl);
  const net = require('node:net');
  const { readFileSync } = require('node:fs');
  const context = { guestCid: 3, hostosVersion: () => readFileSync(workerData.versionFile, 'utf8') };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    serveConnection(socket, 3, context, (line) => parentPort.postMessage({ line }));
  });
  server.listen(workerData.socket, () => parentPort.postMessage({ listening: true }));
})().catch((error) => parentPort.postMessage({ error: String(error && error.stack) }));
`;

/** URL of tsx's ESM API (import.meta.resolve is not available under vitest; its CommonJS build cannot load from a worker). */
function tsxEsmApi(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const entry = JSON.parse(readFileSync(manifest, 'utf8')).exports['./esm/api'].import.default as string;
  return pathToFileURL(path.resolve(path.dirname(manifest), entry)).href;
}

describe('vsock_guest (C client) against the agent on the loopback transport', () => {
  const temp = useTempDir('vsock-guest');
  const client = temp.at('vsock_guest');
  const socket = temp.at('agent.sock');
  const versionFile = temp.at('version.txt');
  const journal: string[] = [];
  let worker: Worker;

  beforeAll(async () => {
    tool('gcc', ['-std=c99', '-Wall', '-Wextra', '-Werror', '-O2', '-o', client, CLIENT_SOURCE]);
    writeFileSync(versionFile, '2024-06-01.deadbeef\n');
    worker = new Worker(AGENT_WORKER, {
      eval: true,
      workerData: {
        tsxApi: tsxEsmApi(),
        agentUrl: pathToFileURL(path.resolve(import.meta.dirname, 'agent.ts')).href,
        socket,
        versionFile,
      },
    });
    await new Promise<void>((resolve, reject) => {
      worker.on('error', reject);
      worker.on('message', (message: { line?: string; listening?: boolean; error?: string }) => {
        if (message.line !== undefined) journal.push(message.line);
        if (message.listening) resolve();
        if (message.error !== undefined) reject(new Error(message.error));
      });
    });
  });
  afterAll(() => worker?.terminate());

  /** Runs the client as CID `cid` (3 unless told) on the agent's socket. */
  function guest(args: string[], env: Record<string, string> = {}) {
    return toolStatus(client, args, { env: { VSOCK_GUEST_UNIX: socket, VSOCK_GUEST_CID: '3', ...env } });
  }

  /** The journal lines of the last request (posted before the answer, delivered once this thread runs). */
  async function journalLines(count: number): Promise<string[]> {
    for (let i = 0; i < 200 && journal.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    return journal.splice(0);
  }

  it('prints the HostOS version', async () => {
    expect(guest(['get-hostos-version'])).toEqual({ status: 0, stdout: '2024-06-01.deadbeef\n', stderr: '' });
    expect(await journalLines(1)).toEqual(['vsock-agent: GetHostOSVersion from CID 3: 2024-06-01.deadbeef']);
  });

  it('sends a notification with quotes, backslash, newline, tab and UTF-8 intact', async () => {
    const message = 'he said "hi" \\ C:\\path\nnext\tline ü € 😀';
    expect(guest(['notify', message, '2'])).toEqual({ status: 0, stdout: '', stderr: '' });
    // The journal shows control characters escaped so one message stays one line.
    const shown = 'he said "hi" \\\\ C:\\\\path\\nnext\\tline ü € 😀';
    expect(await journalLines(2)).toEqual([`vsock-agent: notify from CID 3: ${shown}`, `vsock-agent: notify from CID 3: ${shown}`]);
  });

  it('sends a well-formed upgrade, which the host refuses for now', async () => {
    expect(guest(['upgrade', 'https://download.example/update-img.tar.zst', HASH])).toEqual({
      status: 1,
      stdout: '',
      stderr: 'vsock_guest: refused: not yet: HostOS upgrades are not implemented\n',
    });
    expect(await journalLines(1)).toEqual(['vsock-agent: refused request from CID 3: not yet: HostOS upgrades are not implemented']);
  });

  it('refuses bad arguments itself, before connecting (exit 2)', () => {
    // A socket that does not exist: had the client tried to connect, it would exit 1.
    const offline = { VSOCK_GUEST_UNIX: temp.at('nobody.sock') };
    const badHash = guest(['upgrade', 'https://download.example/u', HASH.toUpperCase()], offline);
    expect(badHash.status).toBe(2);
    expect(badHash.stderr).toContain('SHA256');
    expect(guest(['upgrade', 'ftp://download.example/u', HASH], offline)).toMatchObject({ status: 2, stderr: expect.stringContaining('URL') });
    expect(guest(['notify', 'm', '0'], offline)).toMatchObject({ status: 2, stderr: expect.stringContaining('COUNT "0"') });
    expect(guest(['notify', 'm', '101'], offline)).toMatchObject({ status: 2, stderr: expect.stringContaining('COUNT "101"') });
    expect(guest(['notify', 'x'.repeat(2049)], offline)).toMatchObject({ status: 2, stderr: expect.stringContaining('MESSAGE') });
    expect(guest(['notify'], offline)).toMatchObject({ status: 2, stderr: expect.stringContaining('notify MESSAGE [COUNT]') });
    expect(guest(['reboot'], offline)).toMatchObject({ status: 2, stderr: expect.stringContaining('unknown command "reboot"') });
    expect(guest([], offline).status).toBe(2);
    expect(journal).toEqual([]);
  });

  it('is refused when it sends as another CID than the host sees', async () => {
    expect(guest(['get-hostos-version'], { VSOCK_GUEST_CID: '4' })).toEqual({
      status: 1,
      stdout: '',
      stderr: 'vsock_guest: refused: sender_cid 4 does not match the peer CID 3\n',
    });
    expect(await journalLines(1)).toEqual(['vsock-agent: refused request from CID 3: sender_cid 4 does not match the peer CID 3']);
  });

  it('reports the HSM refusal and the other not-yet commands', async () => {
    expect(guest(['attach-hsm'])).toMatchObject({ status: 1, stderr: 'vsock_guest: refused: not supported: this HostOS has no HSM\n' });
    expect(guest(['detach-hsm'])).toMatchObject({ status: 1, stderr: 'vsock_guest: refused: not supported: this HostOS has no HSM\n' });
    expect(guest(['start-upgrade-guest-vm'])).toMatchObject({ status: 1, stderr: expect.stringMatching(/^vsock_guest: refused: not yet: /) });
    expect(await journalLines(3)).toHaveLength(3);
  });

  it('names CID and port when nothing listens (exit 1)', () => {
    const result = guest(['get-hostos-version'], { VSOCK_GUEST_UNIX: temp.at('nobody.sock') });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^vsock_guest: cannot connect to CID 2 port 19090 \(loopback Unix socket .*nobody\.sock\): No such file or directory\n$/);
  });

  it('documents its commands and the loopback transport', () => {
    const help = guest(['--help']);
    expect(help.status).toBe(0);
    for (const name of ['get-hostos-version', 'notify', 'upgrade', 'start-upgrade-guest-vm', 'attach-hsm', 'detach-hsm', 'VSOCK_GUEST_UNIX', 'VSOCK_GUEST_CID']) {
      expect(help.stdout).toContain(name);
    }
  });
});

describe('icos vsock-agent --stdio (as socat runs it)', () => {
  const temp = useTempDir('vsock-agent-cli');
  const versionFile = temp.at('version.txt');
  const requestFile = temp.at('request.json');
  writeFileSync(versionFile, '2024-06-01.deadbeef\n');
  writeFileSync(requestFile, '{"sender_cid":3,"message":{"Notify":{"message":"hello from the guest","count":1}}}\n');

  /** `icos vsock-agent --stdio` with the request file on stdin and the given peer address. */
  function agent(peer: Record<string, string | undefined>) {
    const script = 'exec node "$0" vsock-agent --stdio --guest-cid 3 --version-file "$1" < "$2"';
    return toolStatus('sh', ['-c', script, ICOS_BIN, versionFile, requestFile], { env: peer as NodeJS.ProcessEnv });
  }

  it('answers on stdout only and journals on stderr', () => {
    const result = agent({ SOCAT_PEERADDR: '3' });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('{"status":"ok","result":""}\n');
    expect(result.stderr).toBe('vsock-agent: notify from CID 3: hello from the guest\n');
  });

  it('refuses a peer that is not the GuestOS', () => {
    const result = agent({ SOCAT_PEERADDR: '5' });
    expect(result.stdout).toBe(`{"status":"refused","reason":"peer CID 5 is not this host's GuestOS (CID 3)"}\n`);
    expect(result.stderr).toBe("vsock-agent: refused request from CID 5: peer CID 5 is not this host's GuestOS (CID 3)\n");
  });

  it('refuses when no peer CID is known', () => {
    const result = agent({ SOCAT_PEERADDR: undefined });
    expect(result.stdout).toBe('{"status":"refused","reason":"peer CID unknown"}\n');
    expect(result.stderr).toContain('vsock-agent: refused connection: no peer CID');
  });
});

describe('icos vsock-agent usage', () => {
  it('needs exactly one transport and decimal CIDs', async () => {
    expect(await icosInProcess(['vsock-agent'])).toMatchObject({ code: 2, stderr: 'icos: give exactly one of --stdio and --unix PATH\n' });
    expect(await icosInProcess(['vsock-agent', '--stdio', '--unix', '/tmp/x.sock'])).toMatchObject({ code: 2 });
    expect(await icosInProcess(['vsock-agent', '--stdio', '--guest-cid', 'three'])).toMatchObject({
      code: 2,
      stderr: 'icos: --guest-cid "three": expected a VSOCK CID (decimal, 0 to 4294967295)\n',
    });
    expect(await icosInProcess(['vsock-agent', '--stdio', '--peer-cid', '4294967296'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--peer-cid') });
  });
});
