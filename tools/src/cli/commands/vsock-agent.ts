import { readFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { listenUnix, serveConnection } from '../../vsock/agent.ts';
import { type AgentContext, encodeResponse, refused, VSOCK_PORT } from '../../vsock/protocol.ts';
import { defineCommand, UsageError } from '../command.ts';

/** A VSOCK CID as written on a command line or by socat: plain decimal, 32 bits. */
function parseCid(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const cid = Number(text);
  return cid <= 0xffff_ffff ? cid : undefined;
}

function cidOption(option: string, text: string): number {
  const cid = parseCid(text);
  if (cid === undefined) throw new UsageError(`--${option} "${text}": expected a VSOCK CID (decimal, 0 to 4294967295)`);
  return cid;
}

/**
 * `icos vsock-agent`: the HostOS side of the GuestOS VSOCK protocol. On HostOS, socat listens and
 * runs one agent per connection (`socat VSOCK-LISTEN:19090,fork EXEC:'... vsock-agent --stdio'`),
 * so the agent itself needs no VSOCK support from Node. Journal lines go to stderr: stdout is the
 * connection. Runs on Node 18 (Debian 12's nodejs on HostOS).
 */
export const vsockAgentCommand = defineCommand({
  command: 'vsock-agent',
  describe: `Answer GuestOS VSOCK requests (port ${VSOCK_PORT}): one connection on stdin/stdout under socat, or a Unix socket`,
  builder: (y) =>
    y
      .option('stdio', { type: 'boolean', default: false, describe: 'Serve one connection on stdin/stdout (socat EXEC); peer CID from SOCAT_PEERADDR' })
      .option('unix', { type: 'string', describe: 'Listen on this Unix socket forever instead (loopback transport for tests and development)' })
      .option('guest-cid', { type: 'string', default: '3', describe: 'CID of this host\'s GuestOS: the only peer served' })
      .option('peer-cid', { type: 'string', describe: 'Peer CID to assume (default: SOCAT_PEERADDR with --stdio, --guest-cid with --unix)' })
      .option('version-file', { type: 'string', default: '/opt/ic/share/version.txt', describe: 'File whose trimmed text answers GetHostOSVersion' }),
  async run(args) {
    if (args.stdio === (args.unix !== undefined)) throw new UsageError('give exactly one of --stdio and --unix PATH');
    const guestCid = cidOption('guest-cid', args['guest-cid']);
    const versionFile = args['version-file'];
    // Read per request: an upgrade may replace the file while socat keeps running.
    const context: AgentContext = { guestCid, hostosVersion: () => readFileSync(versionFile, 'utf8') };
    const journal = (line: string) => void process.stderr.write(`${line}\n`);

    if (args.unix !== undefined) {
      const peerCid = args['peer-cid'] === undefined ? guestCid : cidOption('peer-cid', args['peer-cid']);
      await listenUnix(args.unix, peerCid, context, journal);
      journal(`vsock-agent: listening on unix socket ${args.unix} as peer CID ${peerCid} (guest CID ${guestCid})`);
      await new Promise<never>(() => {}); // serves until killed
    }

    const peerText = args['peer-cid'] ?? process.env.SOCAT_PEERADDR;
    const peerCid = args['peer-cid'] === undefined ? (peerText === undefined ? undefined : parseCid(peerText)) : cidOption('peer-cid', args['peer-cid']);
    if (peerCid === undefined) {
      // Without a trusted peer CID no request can be checked: refuse the connection unread.
      const why = peerText === undefined ? 'no peer CID (neither --peer-cid nor SOCAT_PEERADDR)' : `SOCAT_PEERADDR "${peerText}" is not a VSOCK CID`;
      journal(`vsock-agent: refused connection: ${why}`);
      process.stdout.write(encodeResponse(refused('peer CID unknown')));
      process.stdin.destroy();
      return;
    }
    const connection = Duplex.from({ readable: process.stdin, writable: process.stdout });
    await serveConnection(connection, peerCid, context, journal);
    process.stdin.destroy(); // the request was read: let the process exit whatever the peer still sends
  },
});
