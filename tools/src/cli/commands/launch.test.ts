import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ICOS_BIN, icosInProcess, runIcos, runIcosAsync, sha256sum, toolStatus, useTempDir } from '../../../../test/support/tools.ts';
import { takeVmSlot } from '../../../../test/support/vm-slot.ts';

// icos launch as a user runs it: a separate process, its exit status and what it printed.
const { at } = useTempDir('launch');

/** A small disk with a FAT partition labelled CONFIG (as an installer medium has), raw and packed. */
beforeAll(async () => {
  await writeFile(at('partitions.csv'), 'config, 2048, 2048, M, A5BA3816-BEAA-D74D-993E-CFA5AA6BA1F6, FAT labelled CONFIG\n');
  for (const args of [
    ['vfat', '--out', at('config-fat.img'), '--size', '1M', '--label', 'CONFIG'],
    ['disk', '--partitions', at('partitions.csv'), '--out', at('disk.img'), '--part', `config=${at('config-fat.img')}`],
    ['pack', '--out', at('disk-img.tar.zst'), '--member', `disk.img=${at('disk.img')}`],
  ]) {
    expect((await icosInProcess(args)).code).toBe(0);
  }
  await writeFile(at('config.ini'), '[network]\nipv6_prefix=2a00:fb01:400:200\n');
  await writeFile(at('text.txt'), 'not a disk\n');
  await mkdir(at('tmp'));
});

// A missing, unreadable or wrong file is bad input (status 1); a bad flag value is a usage error (2).
const BAD: [string[], string, number][] = [
  [['--disk', 'missing.img'], '--disk "missing.img": cannot be read: no such file or directory', 1],
  [['--disk', '.'], '--disk ".": is a directory, expected a regular file', 1],
  [['--disk', 'TEXT'], '--disk "TEXT": not a disk image: 11 bytes', 1],
  [['--disk', 'DISK', '--mac', '52:54:00:zz:00:01'], '--mac "52:54:00:zz:00:01": expected six hex pairs', 2],
  [['--disk', 'DISK', '--memory', '2X'], '--memory "2X": expected a number of bytes', 2],
  [['--disk', 'DISK', '--cpus', '0'], '--cpus "0": expected a whole number of vCPUs', 2],
  [['--disk', 'DISK', '--timeout', '0'], '--timeout "0": expected a positive number of seconds', 2],
  [['--disk', 'DISK', '--target-size', '8G'], '--target-size "8G": only with --target FILE', 2],
  [['--disk', 'DISK', '--config', 'missing.ini'], '--config "missing.ini": cannot be read: no such file or directory', 1],
  [['--disk', 'ARCHIVE', '--persist'], '--persist: --disk "ARCHIVE" is an archive', 2],
  [['--disk', 'DISK', '--target', 'DISK'], '--target "DISK": is --disk itself', 2],
  [['--disk', 'DISK', '--target', '/nonexistent/t.img'], '--target "/nonexistent/t.img": cannot be created in "/nonexistent"', 1],
];

/** Test files in place of their names. */
function resolve(text: string): string {
  const files: Record<string, string> = { DISK: at('disk.img'), ARCHIVE: at('disk-img.tar.zst'), TEXT: at('text.txt') };
  return text.replace(/\b(DISK|ARCHIVE|TEXT)\b/g, (name) => files[name]!);
}

describe('icos launch: bad flags', () => {
  it.each(BAD)('%o: one message naming the flag, before anything runs', async (args, message, status) => {
    const result = await icosInProcess(['launch', ...args.map(resolve)]);
    expect(result.stderr.startsWith(`icos: ${resolve(message)}`), result.stderr).toBe(true);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.code).toBe(status);
  });

  it.each([BAD[0]!, BAD[4]!, BAD[9]!])('%o as a process: its exit status, no stack trace', (args, message, status) => {
    const result = runIcos(['launch', ...args.map(resolve)], { env: { TMPDIR: at('tmp') } });
    expect(result.stderr.startsWith(`icos: ${resolve(message)}`), result.stderr).toBe(true);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.status).toBe(status);
  });
});

/** icos launch's scratch directories in the test's TMPDIR (tsx keeps its cache there too). */
async function scratchDirs(): Promise<string[]> {
  return (await readdir(at('tmp'))).filter((name) => name.startsWith('icos-launch.'));
}

describe('icos launch: QEMU runs', () => {
  let release: () => void;
  beforeAll(async () => {
    release = await takeVmSlot();
  }, 3_600_000);
  afterAll(() => release?.());

  it('stops the VM at --timeout with status 124; config.ini goes onto a copy, or onto the disk with --persist', async () => {
    const before = sha256sum(at('disk.img'));
    const args = ['launch', '--disk', at('disk.img'), '--config', at('config.ini'), '--serial-log', at('console.log'), '--timeout', '1', '--memory', '256M'];
    const copy = await runIcosAsync(args, { env: { TMPDIR: at('tmp') } });
    expect(copy.stderr).toContain('icos: --timeout 1: the VM still ran after 1 s: stopped it');
    expect(copy.status).toBe(124);
    expect(sha256sum(at('disk.img'))).toBe(before);

    const persist = await runIcosAsync([...args, '--persist'], { env: { TMPDIR: at('tmp') } });
    expect(persist.status).toBe(124);
    const ini = toolStatus('mtype', ['-i', `${at('disk.img')}@@${2048 * 512}`, '::config.ini'], { env: { MTOOLSRC: '/dev/null' } });
    expect(ini.stdout).toBe('[network]\nipv6_prefix=2a00:fb01:400:200\n');
  }, 120_000);

  it('on SIGTERM stops QEMU before exiting (status 143) and removes the unpacked archive', async () => {
    const icos = spawn(process.execPath, [ICOS_BIN, 'launch', '--disk', at('disk-img.tar.zst'), '--serial-log', at('console.log'), '--memory', '256M'], {
      env: { ...process.env, TMPDIR: at('tmp') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    icos.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => icos.on('exit', (code) => resolve(code)));
    let qemu = '';
    try {
      for (let tries = 0; qemu === '' && tries < 300; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        qemu = toolStatus('pgrep', ['-P', String(icos.pid), 'qemu-system']).stdout.trim();
      }
      expect(qemu).toMatch(/^\d+$/);
      expect(await scratchDirs()).toHaveLength(1);
    } finally {
      // Also when a check above fails: a launch left running keeps its VM booting for ever.
      icos.kill('SIGTERM');
    }
    expect(await exited).toBe(143);
    expect(stderr).toContain('icos: SIGTERM: stopping qemu-system-x86_64');
    expect(() => process.kill(Number(qemu), 0)).toThrow(/ESRCH/);
    expect(await scratchDirs()).toEqual([]);
  }, 120_000);
});
