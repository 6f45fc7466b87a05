import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ICOS_BIN, useTempDir } from '../../../test/support/tools.ts';

/** Whether `pid` is still a running process (a zombie has ended: only its exit status is left). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(check()).toBe(true);
}

describe('child tools do not outlive icos', () => {
  const temp = useTempDir('children');
  const bin = temp.at('bin');
  const pidFile = temp.at('tool.pid');
  // A stand-in for a long tool call that is slow to stop: records its PID and sleeps (exec keeps
  // the PID), ignoring SIGTERM, SIGINT and SIGHUP as a tool busy in a system call might seem to.
  writeFileSync(temp.at('mkfs.fat'), `#!/bin/sh\ntrap '' TERM INT HUP\necho $$ > ${pidFile}\nexec sleep 60\n`);
  chmodSync(temp.at('mkfs.fat'), 0o755);

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('%s: the tool is gone when icos has exited', async (signal) => {
    writeFileSync(pidFile, '');
    const out = temp.at(`out-${signal}.img`);
    const icos = spawn(process.execPath, [ICOS_BIN, 'vfat', '--size', '1M', '--out', out], {
      env: { ...process.env, PATH: `${temp.dir}:${process.env.PATH}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    icos.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => icos.on('exit', (code) => resolve(code)));
    await waitFor(() => readFileSync(pidFile, 'utf8').trim() !== '');
    const toolPid = Number(readFileSync(pidFile, 'utf8'));
    expect(isRunning(toolPid)).toBe(true);
    icos.kill(signal);
    const code = await exited;
    // Checked at once: not "a second or two later".
    expect(isRunning(toolPid)).toBe(false);
    expect(code).toBe({ SIGINT: 130, SIGTERM: 143, SIGHUP: 129 }[signal]);
    expect(stderr).toContain(`interrupted by ${signal}`);
    expect(existsSync(out)).toBe(false);
  });

  it('a streamed tool still running at exit is killed', async () => {
    const script = `import { ExecaCommandRunner } from ${JSON.stringify(path.resolve('tools/src/infra/execa-command-runner.ts'))};
      const run = new ExecaCommandRunner().stream('sh', ['-c', "trap '' TERM; echo $$; exec sleep 60"]);
      run.done.catch(() => {});
      run.stdout.once('data', (pid) => { console.log(String(pid).trim()); process.exit(0); });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const toolPid = Number(stdout.trim());
    expect(toolPid).toBeGreaterThan(0);
    expect(isRunning(toolPid)).toBe(false);
  });
});
