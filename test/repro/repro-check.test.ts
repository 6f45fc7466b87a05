import { existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runIcosAsync, spawnAsync, toolAsync } from '../support/tools.ts';

/**
 * `icos repro-check` on test/repro-fixture: one output that is the same in every build and one
 * that carries the build's clock. One run over both (two cold Bazel servers, ~40 s): the table
 * says "same" for the first, and the check fails naming only the second. Bazel runs here, so this
 * file is left out of the //:vitest targets (a Bazel test cannot run Bazel).
 */

const CHECKOUT = path.resolve(import.meta.dirname, '../..');
const STABLE = 'test/repro-fixture/stable.txt';
const VARYING = 'test/repro-fixture/varying.txt';
const scratch = mkdtempSync(path.join(tmpdir(), 'icos-test-repro-check-'));
// Bazel leaves its outputs read-only.
afterAll(() => toolAsync('chmod', ['-R', 'u+w', scratch]).finally(() => rmSync(scratch, { recursive: true, force: true })));

/** Where the checkout's bazel-bin link points, or that there is none. */
function bazelBinLink(): string {
  const link = path.join(CHECKOUT, 'bazel-bin');
  return lstatSync(link, { throwIfNoEntry: false }) === undefined ? '(none)' : readlinkSync(link);
}

describe('icos repro-check', () => {
  it('fails naming only the artifact that differs, "same" for the other, and leaves the checkout\'s bazel-* links alone', async () => {
    const linkBefore = bazelBinLink();
    const run = await runIcosAsync(['repro-check', '//test/repro-fixture:stable', '//test/repro-fixture:varying', '--keep', '--scratch', scratch], {
      cwd: CHECKOUT,
    });
    const context = `status ${run.status}\n${run.stdout}\n${run.stderr.slice(-4000)}`;
    expect(run.status, context).toBe(1);

    const row = (name: string) => run.stdout.split('\n').find((line) => line.startsWith(`${name} `))?.trim().split(/\s+/);
    const stable = row(STABLE);
    const varying = row(VARYING);
    expect(stable, context).toEqual([STABLE, '24', expect.stringMatching(/^[0-9a-f]{64}$/), 'same']);
    expect(varying?.[2]).toMatch(/^[0-9a-f]{64}$/);
    expect(varying?.[3]).toMatch(/^[0-9a-f]{64}$/);
    expect(varying?.[2]).not.toBe(varying?.[3]);
    expect(run.stderr).toMatch(new RegExp(`1 of 2 artifacts differ between the two builds: ${VARYING}\\n`));
    expect(run.stderr).not.toMatch(new RegExp(`differs: ${STABLE}`));

    // The kept outputs, read with coreutils: the table's digests are theirs.
    const diff = /icos diff (\S+) (\S+)/.exec(run.stderr);
    expect(diff, context).not.toBeNull();
    const [, varyingA, varyingB] = diff!;
    expect((await toolAsync('sha256sum', [varyingA!])).split(' ')[0]).toBe(varying![2]);
    expect((await toolAsync('sha256sum', [varyingB!])).split(' ')[0]).toBe(varying![3]);
    const stableA = varyingA!.replace(/varying\.txt$/, 'stable.txt');
    const stableB = varyingB!.replace(/varying\.txt$/, 'stable.txt');
    expect((await toolAsync('sha256sum', [stableA])).split(' ')[0]).toBe(stable![2]);
    expect((await toolAsync('sha256sum', [stableB])).split(' ')[0]).toBe(stable![2]);
    // Separate output bases, B's in a copy of the checkout, both inside the scratch folder.
    for (const file of [varyingA!, varyingB!]) expect(file.startsWith(`${scratch}/`)).toBe(true);
    expect(varyingA).not.toBe(varyingB);

    // No bazel-* link re-pointed in the checkout, none made in the copy, no server left running.
    expect(bazelBinLink()).toBe(linkBefore);
    const copy = path.join(varyingB!.split('/output-base/')[0]!, 'checkout');
    expect(existsSync(path.join(copy, 'WORKSPACE')), copy).toBe(true);
    expect(lstatSync(path.join(copy, 'bazel-bin'), { throwIfNoEntry: false })).toBeUndefined();
    const processes = await spawnAsync('ps', ['-eo', 'args']);
    expect(processes.stdout.split('\n').filter((line) => line.includes(scratch))).toEqual([]);
    expect(run.stderr).toMatch(/scratch at the end: \d+ bytes/);
  });
});
