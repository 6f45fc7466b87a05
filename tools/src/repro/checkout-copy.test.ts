import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync, readlinkSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { copyCheckout } from './checkout-copy.ts';

const root = mkdtempSync(path.join(tmpdir(), 'icos-test-checkout-copy-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const git = (...args: string[]) => execFileSync('git', ['-C', path.join(root, 'src'), ...args], { encoding: 'utf8' });
/** Mode and inode as coreutils' stat reports them (not our code). */
const stat = (file: string) => execFileSync('stat', ['-c', '%a %i', file], { encoding: 'utf8' }).trim().split(' ');

describe('copy of the checkout', () => {
  it('takes the working tree as a clone under the umask would have it, never linking back but for the packages', async () => {
    const src = path.join(root, 'src');
    const write = (name: string, content: string, mode = 0o644) => {
      mkdirSync(path.dirname(path.join(src, name)), { recursive: true });
      writeFileSync(path.join(src, name), content);
      chmodSync(path.join(src, name), mode);
    };
    mkdirSync(src);
    git('init', '-q');
    write('.gitignore', 'node_modules/\nbuild/\n*.local\n/bazel-*\n');
    write('pkg/BUILD.bazel', 'committed');
    write('pkg/run.sh', '#!/bin/sh', 0o755);
    write('gone.txt', 'deleted after the commit');
    symlinkSync('pkg/run.sh', path.join(src, 'link'));
    git('add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'fixture');
    write('pkg/BUILD.bazel', 'edited, not committed');
    rmSync(path.join(src, 'gone.txt'));
    write('pkg/new.txt', 'untracked');
    write('envs/pin.local', 'ignored stand-in');
    write('build/icos.mjs', 'ignored folder');
    write('node_modules/x/index.js', 'package');
    symlinkSync('/nowhere', path.join(src, 'bazel-bin'));

    const to = path.join(root, 'copy', 'checkout');
    const logged: string[] = [];
    const log = { info: (m: string) => logged.push(m), verbose: () => {}, warn: (m: string) => logged.push(m) };
    const copied = await copyCheckout(src, to, 0o077, { runner: new ExecaCommandRunner(), log });

    expect(copied).toBe(6);
    expect(readFileSync(path.join(to, 'pkg/BUILD.bazel'), 'utf8')).toBe('edited, not committed');
    expect(readFileSync(path.join(to, 'pkg/new.txt'), 'utf8')).toBe('untracked');
    expect(readFileSync(path.join(to, 'envs/pin.local'), 'utf8')).toBe('ignored stand-in');
    expect(readlinkSync(path.join(to, 'link'))).toBe('pkg/run.sh');
    for (const absent of ['gone.txt', 'build', 'bazel-bin']) expect(existsSync(path.join(to, absent)), absent).toBe(false);
    expect(stat(path.join(to, 'pkg/BUILD.bazel'))[0]).toBe('600');
    expect(stat(path.join(to, 'pkg/run.sh'))[0]).toBe('700');
    expect(stat(path.join(to, 'pkg'))[0]).toBe('700');
    // Packages are hard links: the same inode, no second copy.
    expect(stat(path.join(to, 'node_modules/x/index.js'))[1]).toBe(stat(path.join(src, 'node_modules/x/index.js'))[1]);
    expect(stat(path.join(to, 'pkg/BUILD.bazel'))[1]).not.toBe(stat(path.join(src, 'pkg/BUILD.bazel'))[1]);
  });
});
