import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnv, REPO } from '../../../test/support/env-build.ts';
import { sha256sum, toolStatus } from '../../../test/support/tools.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';

// Engine independence: the GuestOS dev rootfs built through Podman's Docker-compatible socket
// must be the same bytes as the one Bazel built through Docker (the shared env build). Both are
// compared by coreutils' sha256sum; on a difference, GNU tar and cmp say which members differ.

/** Where tools/services.sh starts Podman's socket. */
const PODMAN_SOCKET = '/run/podman/podman.sock';
const PODMAN_HOST = `unix://${PODMAN_SOCKET}`;
const BUILD_TIMEOUT_MS = 900_000;

function podmanMissing(): string | undefined {
  if (toolStatus('sh', ['-c', 'command -v podman']).status !== 0) return 'podman is not installed (tools/setup.sh installs it)';
  const ping = toolStatus('curl', ['-fsS', '--max-time', '5', '--unix-socket', PODMAN_SOCKET, 'http://localhost/_ping']);
  if (ping.status !== 0) return `Podman's socket ${PODMAN_SOCKET} does not answer (bash tools/services.sh starts it): ${ping.stderr.trim()}`;
  return undefined;
}

// In CI a missing engine is a failure, not a skip: the suite must show both engines agree.
const missing = podmanMissing();
const skipped = missing !== undefined && !process.env.CI;

/** The first header lines that differ, from GNU tar's own listings. */
async function listingDifference(dir: string, a: string, b: string): Promise<string> {
  const files = [path.join(dir, 'a.list'), path.join(dir, 'b.list')];
  for (const [index, tarPath] of [a, b].entries()) {
    await writeFile(files[index]!, toolStatus('tar', ['--full-time', '-tvf', tarPath]).stdout);
  }
  const diff = toolStatus('diff', files);
  return diff.stdout.split('\n').slice(0, 40).join('\n');
}

/** The member holding the first differing byte, by cmp's offset and tar's header block numbers. */
function firstDifferingMember(a: string, b: string): string {
  const cmp = toolStatus('cmp', [a, b]);
  const byte = /differ: (?:char|byte) (\d+)/.exec(cmp.stdout);
  if (byte === null) return cmp.stdout.trim() || cmp.stderr.trim();
  const block = Math.floor((Number(byte[1]) - 1) / 512);
  let member = 'the archive header area';
  for (const line of toolStatus('tar', ['-R', '-tvf', a]).stdout.split('\n')) {
    const header = /^block (\d+): (.*)$/.exec(line);
    if (header === null || Number(header[1]) > block) break;
    member = header[2]!;
  }
  return `first differing byte ${byte[1]} (block ${block}) is in: ${member}`;
}

describe.skipIf(skipped)(`the rootfs built with Podman${skipped ? ` (skipped: ${missing})` : ''}`, () => {
  let work: string;
  let podmanTar: string;
  let dockerTar: string;

  beforeAll(async () => {
    if (missing !== undefined) throw new Error(`CI needs Podman for the engine-independence test: ${missing}`);
    if (process.env.DOCKER_HOST === PODMAN_HOST) throw new Error('DOCKER_HOST points at Podman: the Bazel reference build would use Podman too');
    work = await mkdtemp(path.join(tmpdir(), 'icos-engines-'));
    podmanTar = path.join(work, 'rootfs-podman.tar');
    const runner = new ExecaCommandRunner();
    const started = Date.now();
    // Both at once: the Bazel build (usually shared with the other image tests) and the Podman one.
    const [docker] = await Promise.all([
      buildEnv({ os: 'guestos', env: 'dev', unpack: [] }),
      runner.run(process.execPath, [path.join(REPO, 'bin/icos.mjs'), 'rootfs', '--os', 'guestos', '--env', 'dev', '--out', podmanTar], {
        cwd: REPO,
        // As the Bazel action: no SOURCE_DATE_EPOCH of its own, so 0.
        env: { DOCKER_HOST: PODMAN_HOST, SOURCE_DATE_EPOCH: '0', ...(process.env.HOME === undefined ? {} : { HOME: process.env.HOME }) },
        artifact: 'rootfs(podman)',
      }),
    ]);
    dockerTar = docker.output('rootfs-tree.tar');
    console.log(`rootfs-engines: both rootfs builds took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('is the same bytes as the one built with Docker', async () => {
    expect(existsSync(dockerTar), dockerTar).toBe(true);
    if (sha256sum(podmanTar) === sha256sum(dockerTar)) return;
    const headers = await listingDifference(work, dockerTar, podmanTar);
    expect.fail(
      `rootfs-tree.tar built with Podman differs from Docker's (${dockerTar}):\n` +
        `${firstDifferingMember(dockerTar, podmanTar)}\n` +
        (headers === '' ? 'tar -tvf listings are the same: contents or PAX records differ' : `tar -tvf, Docker < > Podman:\n${headers}`),
    );
  });
});
