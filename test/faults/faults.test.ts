import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ICOS_BIN, spawnAsync, useTempDir } from '../support/tools.ts';

/**
 * Faults (issue 13): disk full on the output file system and on TMPDIR (small tmpfs mounts),
 * SIGINT/SIGTERM/SIGKILL in the middle of ext4, disk, lvm, verity and pack (icos as a child
 * process on inputs big enough to be mid-build), and the child tools gone once icos has exited.
 * After SIGKILL, the next run with the same --out removes the dead run's `.NAME.partial-PID-N`.
 */

const { dir, at } = useTempDir('faults');
const MiB = 1024 * 1024;

function mountTmpfs(where: string, size: string): string | undefined {
  mkdirSync(where, { recursive: true });
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', where], { encoding: 'utf8' });
  return result.status === 0 ? undefined : `mount -t tmpfs is not permitted here: ${result.stderr.trim()}`;
}

/** Why mounting does not work here, or undefined when it does (probed once). */
const cannotMount = (() => {
  const probe = path.join(dir, 'probe');
  const why = mountTmpfs(probe, '1m');
  if (why === undefined) spawnSync('umount', [probe]);
  return why;
})();

const mounted: string[] = [];
afterAll(() => {
  for (const where of mounted.reverse()) spawnSync('umount', ['-l', where]);
});

/** Random bytes: nothing compresses or is a hole, so every tool really works through them. */
function randomFile(file: string, bytes: number): void {
  execFileSync('sh', ['-c', `head -c ${bytes} /dev/urandom > "$0"`, file]);
}

beforeAll(() => {
  mkdirSync(at('in'), { recursive: true });
  randomFile(at('in/big.img'), 512 * MiB);
  mkdirSync(at('in/tree/data'), { recursive: true });
  for (let i = 0; i < 4; i += 1) randomFile(at(`in/tree/data/f${i}`), 48 * MiB);
  execFileSync('tar', ['-cf', at('in/tree.tar'), '-C', at('in/tree'), '.']);
  writeFileSync(at('in/partitions.csv'), 'A_root, 2048, 1048576, L, 7C0A626E-E5EA-E543-B5C5-300EB8304DB7, root\n');
  writeFileSync(at('in/volumes.csv'), 'A_root, 0, 128, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x, root\n');
}, 300_000);

/** The command lines that take seconds on the inputs above, with {out} as the output directory. */
const LONG_BUILDS: Record<string, (out: string) => string[]> = {
  ext4: (out) => ['ext4', '--out', `${out}/fs.img`, '--size', '512M', '--src', at('in/tree.tar')],
  disk: (out) => ['disk', '--partitions', at('in/partitions.csv'), '--out', `${out}/disk.img`, '--part', `A_root=${at('in/big.img')}`],
  lvm: (out) => ['lvm', '--volumes', at('in/volumes.csv'), '--vg-name', 'vg', '--vg-uuid', 'SIs20R-l6gh-2Rli-KAP0-ZO88-3Y4q-G9JPAm',
    '--pv-uuid', 'RM99J5-B2t1-JU3l-HNco-J2f2-1808-eJGo3s', '--out', `${out}/lvm.img`, '--volume', `A_root=${at('in/big.img')}`],
  verity: (out) => ['verity', '--image', at('in/big.img'), '--out', `${out}/v.img`, '--hash-offset', String(512 * MiB), '--salt', '00',
    '--uuid', '1736291d-aceb-42d7-b044-43ee31d86cd4', '--root-hash-out', `${out}/root-hash`],
  pack: (out) => ['pack', '--out', `${out}/a.tar.zst`, '--member', `big.img=${at('in/big.img')}`],
};

/** Pids of every process whose parent chain leads to `root` (read from /proc). */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents) if (parent === pid) (found.push(child), walk(child));
  };
  walk(root);
  return found;
}

/** What a run left in its TMPDIR, but for tsx's compile cache (icos run from source when its bundle is stale). */
function scratchLeft(tmp: string): string[] {
  return readdirSync(tmp).filter((name) => !name.startsWith('tsx-'));
}

/** The processes of `pids` still alive after up to `graceMs`. */
async function stillAlive(pids: readonly number[], graceMs: number): Promise<number[]> {
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return pids.filter(alive);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/**
 * Starts icos, waits until it is busy (a partial output or a child tool exists), sends `signal`,
 * and returns its status, stderr and the child tools it had just before the signal.
 */
async function interrupt(args: string[], out: string, tmp: string, signal: NodeJS.Signals) {
  const child = spawn(process.execPath, [ICOS_BIN, ...args], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, sig) => resolve({ code, signal: sig })));
  let exited = false;
  void closed.then(() => (exited = true));
  const started = Date.now();
  let busy = false;
  while (!exited && Date.now() - started < 120_000) {
    busy = readdirSync(out).some((name) => name.includes('.partial-'));
    if (busy) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // Into its work, but well before the end (disk and lvm copy the input in about a second).
  await new Promise((resolve) => setTimeout(resolve, 100));
  const tools = descendants(child.pid!);
  // Taken before the signal: once `closed` settles, `exited` is true whatever happened.
  const wasRunning = !exited;
  child.kill(signal);
  const result = await closed;
  return { ...result, stderr, tools, busy, wasRunning };
}

describe.each(Object.keys(LONG_BUILDS))('icos %s interrupted', (command) => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('by %s: exits %i, nothing at or beside --out, TMPDIR empty, child tools gone', async (signal, status) => {
    const out = at(`${command}-${signal}/out`);
    const tmp = at(`${command}-${signal}/tmp`);
    mkdirSync(out, { recursive: true });
    mkdirSync(tmp, { recursive: true });
    const run = await interrupt(LONG_BUILDS[command]!(out), out, tmp, signal);
    expect(run.wasRunning, `icos finished before the signal: ${run.stderr}`).toBe(true);
    expect(run.code, run.stderr).toBe(status);
    expect(readdirSync(out)).toEqual([]);
    expect(scratchLeft(tmp)).toEqual([]);
    // icos SIGKILLs its tools as it exits; on a loaded machine the kernel may take a moment to end them.
    expect(await stillAlive(run.tools, 2000), 'child tools outlive icos').toEqual([]);
  }, 300_000);

  it('by SIGKILL: the next run with the same --out removes the dead run\'s partial output', async () => {
    const out = at(`${command}-KILL/out`);
    const tmp = at(`${command}-KILL/tmp`);
    mkdirSync(out, { recursive: true });
    mkdirSync(tmp, { recursive: true });
    const run = await interrupt(LONG_BUILDS[command]!(out), out, tmp, 'SIGKILL');
    expect(run.wasRunning, `icos finished before the signal: ${run.stderr}`).toBe(true);
    expect(run.signal).toBe('SIGKILL');
    const stale = readdirSync(out).filter((name) => name.includes('.partial-'));
    expect(stale.length, 'SIGKILL leaves the partial output (nothing can remove it then)').toBeGreaterThan(0);
    // Child tools of a killed icos are orphans; they must not keep writing for long.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(run.tools.filter(alive), 'child tools outlive a killed icos').toEqual([]);
    // The next run of the same command and --out (a cheap failing one suffices: the reaping is at
    // the start of a write) removes the dead PID's partial.
    const again = await spawnAsync(process.execPath, [ICOS_BIN, ...LONG_BUILDS[command]!(out)], { env: { ...process.env, TMPDIR: tmp } });
    expect(again.status, again.stderr).toBe(0);
    expect(readdirSync(out).filter((name) => name.includes('.partial-'))).toEqual([]);
    expect(scratchLeft(tmp)).toEqual([]);
  }, 600_000);
});

describe.skipIf(cannotMount !== undefined)(`disk full${cannotMount === undefined ? '' : ` (skipped: ${cannotMount})`}`, () => {
  let full: string;
  let smallTmp: string;
  beforeAll(() => {
    full = at('full-out');
    smallTmp = at('full-tmp');
    for (const where of [full, smallTmp]) {
      const why = mountTmpfs(where, '8m');
      if (why !== undefined) throw new Error(why);
      mounted.push(where);
    }
  });

  it.each([
    ['ext4', (out: string) => ['ext4', '--out', `${out}/fs.img`, '--size', '256M', '--src', at('in/tree.tar')], 'fs.img'],
    ['disk', (out: string) => ['disk', '--partitions', at('in/partitions.csv'), '--out', `${out}/disk.img`, '--part', `A_root=${at('in/big.img')}`], 'disk.img'],
    ['pack', (out: string) => ['pack', '--out', `${out}/a.tar`, '--member', `big.img=${at('in/big.img')}`], 'a.tar'],
    ['verity', (out: string) => LONG_BUILDS.verity!(out), 'v.img'],
  ])('%s on a full output file system: exit 1, the output path and ENOSPC named, nothing left', async (_command, args, name) => {
    const result = await spawnAsync(process.execPath, [ICOS_BIN, ...args(full)], { env: { ...process.env, TMPDIR: at('in') } });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain(path.join(full, name));
    expect(result.stderr).toMatch(/no space left on device/);
    expect(result.stderr).not.toMatch(/--size|\n\s+at |internal error/);
    expect(readdirSync(full)).toEqual([]);
  }, 300_000);

  it('ext4 with a full TMPDIR: exit 1, TMPDIR named (not the source), nothing left', async () => {
    const out = at('full-tmp-out');
    mkdirSync(out, { recursive: true });
    const result = await spawnAsync(process.execPath, [ICOS_BIN, ...LONG_BUILDS.ext4!(out)], { env: { ...process.env, TMPDIR: smallTmp } });
    expect(result.status, result.stderr).toBe(1);
    expect(result.stderr).toContain(smallTmp);
    expect(result.stderr).toMatch(/no space left on device/);
    expect(result.stderr).not.toMatch(/tree\.tar.*(corrupt|not a readable)|\n\s+at |internal error/);
    expect(readdirSync(out)).toEqual([]);
    expect(scratchLeft(smallTmp)).toEqual([]);
  }, 300_000);

});
