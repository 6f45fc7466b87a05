import { existsSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { useTempDir } from '../../../test/support/tools.ts';
import type { CommandRunner, RunOptions } from '../definitions.ts';
import { exportBases } from './base-archive.ts';
import { parseDigestReference } from './base-pins.ts';
import { localPinFile, localPinText } from './local-base.ts';

const { at } = useTempDir('base-archive-auth');
const silent = { info: () => undefined, warn: () => undefined, verbose: () => undefined } as never;

/** Records each tool's environment; `tar -cf FILE` leaves an empty FILE so the export can finish. */
function recordingRunner(calls: { tool: string; env?: Record<string, string> }[]): CommandRunner {
  return {
    run: async (tool: string, args: readonly string[], options?: RunOptions) => {
      calls.push({ tool, env: options?.env });
      const archive = args.indexOf('-cf');
      if (tool === 'tar' && archive >= 0) writeFileSync(args[archive + 1]!, '');
      return { stdout: '', stderr: '' };
    },
  } as unknown as CommandRunner;
}

describe('icos base export/import and registry logins', () => {
  afterEach(() => {
    delete process.env.REGISTRY_AUTH_FILE;
  });

  it("hands skopeo REGISTRY_AUTH_FILE (the runner's fixed environment has no HOME to find a login in)", async () => {
    const pin = at('docker-base.prod');
    writeFileSync(pin, `guestos-base@sha256:${'a'.repeat(64)}\n`);
    process.env.REGISTRY_AUTH_FILE = '/root/.docker/config.json';
    const calls: { tool: string; env?: Record<string, string> }[] = [];
    await exportBases([pin], at('with-login.tar'), { runner: recordingRunner(calls), log: silent });
    expect(calls.find((call) => call.tool === 'skopeo')?.env).toEqual({ REGISTRY_AUTH_FILE: '/root/.docker/config.json' });

    delete process.env.REGISTRY_AUTH_FILE;
    const without: { tool: string; env?: Record<string, string> }[] = [];
    await exportBases([pin], at('without-login.tar'), { runner: recordingRunner(without), log: silent });
    expect(without.find((call) => call.tool === 'skopeo')?.env).toEqual({});
  });
});

describe('icos base export on a machine that builds on a stand-in', () => {
  it('names the stand-in and the pin it lacks, and copies nothing', async () => {
    const pin = at('docker-base.dev');
    const tracked = `guestos-base-dev@sha256:${'a'.repeat(64)}`;
    writeFileSync(pin, `${tracked}\n`);
    writeFileSync(localPinFile(pin), localPinText(parseDigestReference(tracked)!, parseDigestReference(`guestos-base-dev@sha256:${'b'.repeat(64)}`)!));
    const calls: { tool: string; env?: Record<string, string> }[] = [];
    await expect(exportBases([pin], at('stand-in.tar'), { runner: recordingRunner(calls), log: silent })).rejects.toThrow(
      `docker-base.dev.local: this machine builds on a stand-in (guestos-base-dev@sha256:${'b'.repeat(64)}), not on the pinned ${tracked}: there is no pinned image here to export`,
    );
    expect(calls).toEqual([]);
    expect(existsSync(at('stand-in.tar'))).toBe(false);
  });
});
