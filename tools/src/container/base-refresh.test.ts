import { readFile, mkdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { icosInProcess, useTempDir } from '../../../test/support/tools.ts';
import type { CommandRunner, ContainerEngine } from '../definitions.ts';
import { parseDigestReference } from './base-pins.ts';
import { writeRefreshReport } from './base-refresh.ts';

const { at } = useTempDir('base-refresh');

/** An engine that answers ping and fails anything else, so a test proves no refresh work began. */
const pingOnlyEngine = {
  ping: async () => undefined,
  endpoint: 'fake',
} as unknown as ContainerEngine;
const refusingRunner = {
  run: async () => {
    throw new Error('no tool may run');
  },
} as unknown as CommandRunner;

describe('icos base refresh --report', () => {
  it('refuses a report path that cannot be written before any base is made (exit 1, names --report)', async () => {
    const run = await icosInProcess(['base', 'refresh', '--report', at('missing-dir/refresh.md')], {
      engine: () => pingOnlyEngine,
      runner: refusingRunner,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--report');
    expect(run.stderr).toContain('missing-dir');
    expect(run.stderr).not.toContain('no tool may run');
  });

  it('is a usage error on other actions (exit 2)', async () => {
    const run = await icosInProcess(['base', 'bootstrap', '--report', at('r.md')], { engine: () => pingOnlyEngine, runner: refusingRunner });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--report belongs to refresh');
  });

  it('writes the Markdown whole and replaces an older report', async () => {
    const file = at('report.md');
    await mkdir(at('.'), { recursive: true });
    const after = parseDigestReference(`up@sha256:${'e'.repeat(64)}`)!;
    await writeRefreshReport(file, { pinFile: 'up.pin', after, before: after, packageChanges: [] }, []);
    await writeRefreshReport(file, { pinFile: 'up.pin', after, packageChanges: undefined }, []);
    const text = await readFile(file, 'utf8');
    expect(text.split('\n')[0]).toBe('Base refresh: 1 of 1 pins changed; no package changed; package list unknown for 1.');
  });
});
