/**
 * The host agent's transport: reads one request from a connection, answers it with protocol.ts,
 * closes. The same code serves socat's stdin/stdout (VSOCK on HostOS) and a Unix socket (the
 * loopback transport of tests and developers), so what the tests exercise is what HostOS runs.
 * Node 18 compatible (Debian 12's nodejs runs it on HostOS).
 */
import { lstatSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { UserError } from '../errors.ts';
import { quoted, systemReason } from '../messages.ts';
import type { Duplex } from 'node:stream';
import { type AgentContext, type AgentResponse, encodeResponse, handleRequest, MAX_REQUEST_BYTES, printable, refused } from './protocol.ts';

export interface ServeOptions {
  /** A peer that sends no complete request within this time is refused (it would hold the connection forever). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Serves one connection: reads until a newline or EOF (the client may shut its write side
 * instead of sending a newline), at most MAX_REQUEST_BYTES + 1 bytes, writes the one-line
 * response and ends the stream. Never rejects: stream errors become journal lines. The stream
 * must allow half-open connections, or the client's shutdown would end our side before we answer.
 */
export function serveConnection(
  stream: Duplex,
  peerCid: number,
  context: AgentContext,
  journal: (line: string) => void,
  options: ServeOptions = {},
): Promise<void> {
  const log = (line: string) => {
    try {
      journal(line);
    } catch {
      // A broken journal must not stop the answer.
    }
  };
  return new Promise<void>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let answered = false;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve();
    };

    const answer = (response: AgentResponse, lines: readonly string[]) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.pause();
      for (const line of lines) log(line);
      stream.end(encodeResponse(response), () => {
        // Whatever the peer still sends is not read: close rather than linger half-open.
        if (!stream.readableEnded) stream.destroy();
        settle();
      });
    };

    const answerRequest = (raw: Buffer) => {
      try {
        const { response, journal: lines } = handleRequest(raw, peerCid, context);
        answer(response, lines);
      } catch (error) {
        answer(refused('internal error'), [`vsock-agent: internal error answering CID ${peerCid}: ${printable(String((error as Error)?.stack ?? error))}`]);
      }
    };

    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const newline = bytes.indexOf(0x0a);
      chunks.push(newline < 0 ? bytes : bytes.subarray(0, newline));
      size += newline < 0 ? bytes.length : newline;
      // Over the cap: one byte past it is enough for handleRequest to refuse; read no more.
      if (newline >= 0 || size > MAX_REQUEST_BYTES) answerRequest(Buffer.concat(chunks).subarray(0, MAX_REQUEST_BYTES + 1));
    };
    const onEnd = () => answerRequest(Buffer.concat(chunks));

    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(() => {
      const reason = `no complete request within ${timeoutMs / 1000} s`;
      answer(refused(reason), [`vsock-agent: refused request from CID ${peerCid}: ${reason}`]);
    }, timeoutMs);

    stream.on('error', (error: Error) => {
      log(`vsock-agent: connection from CID ${peerCid}: ${printable(error.message)}`);
      answered = true; // no answer can reach a failed stream
      stream.destroy();
      settle();
    });
    stream.on('close', settle);
    stream.on('data', onData);
    stream.on('end', onEnd);
  });
}

/** Longest Unix socket path in bytes: sockaddr_un's 108-byte sun_path less the final NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Listens on a Unix socket and serves every connection as coming from `peerCid` (a Unix socket
 * has no CID: the caller claims one). Replaces a stale socket file left by an earlier run, never
 * any other kind of file. Resolves once listening.
 */
export async function listenUnix(
  socketPath: string,
  peerCid: number,
  context: AgentContext,
  journal: (line: string) => void,
  options: ServeOptions = {},
): Promise<net.Server> {
  const where = `--unix ${quoted(socketPath)}`;
  // sun_path holds 108 bytes with the final NUL; a longer path cannot be bound (or is cut).
  const bytes = Buffer.byteLength(socketPath);
  if (bytes > MAX_SOCKET_PATH_BYTES) throw new UserError(`${where}: is ${bytes} bytes, longer than the ${MAX_SOCKET_PATH_BYTES} bytes a Unix socket path may have (108 with its NUL)`);
  try {
    if (!statSync(path.dirname(socketPath)).isDirectory()) throw new UserError(`${where}: cannot be created: its parent is not a directory`);
  } catch (error) {
    throw error instanceof UserError ? error : new UserError(`${where}: cannot be created: ${systemReason(error)}`);
  }
  try {
    if (lstatSync(socketPath).isSocket()) unlinkSync(socketPath);
  } catch {
    // Absent: nothing to replace. Anything else is reported by listen below.
  }
  // allowHalfOpen: the client shuts its write side and then waits for the answer.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    void serveConnection(socket, peerCid, context, journal, options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new UserError(`${where}: cannot listen: ${systemReason(error)}`)));
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listening, errors (for example EMFILE on accept) are journalled; the server stays up.
  server.on('error', (error) => journal(`vsock-agent: unix socket ${socketPath}: ${error.message}`));
  return server;
}
