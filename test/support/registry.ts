/**
 * A second, empty registry for tests: Debian's docker-registry on a free loopback port with its
 * own storage, as tools/services.sh starts the first one. Stopped and removed by `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../tools/src/lib/repo-root.ts';

export interface TestRegistry {
  /** host:port, for ICOS_REGISTRY. */
  host: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function startTestRegistry(): Promise<TestRegistry> {
  const dir = await mkdtemp(path.join(tmpdir(), 'icos-test-registry-'));
  const host = `127.0.0.1:${await freePort()}`;
  const config = (await readFile(path.join(REPO_ROOT, 'tools/registry-config.yml'), 'utf8'))
    .replace(/rootdirectory: .*/, `rootdirectory: ${path.join(dir, 'storage')}`)
    .replace(/addr: .*/, `addr: ${host}`);
  await writeFile(path.join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await fetch(`http://${host}/v2/`).then((r) => r.ok, () => false)) return { host, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`docker-registry did not answer on ${host} within 10 s`);
}
