import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../../test/support/tools.ts';
import { writeAtomically } from './atomic-output.ts';
import { writeFile } from 'node:fs/promises';

describe('writeAtomically', () => {
  const temp = makeTempDir('atomic');
  afterAll(() => temp.remove());

  it('renames a finished output into place', async () => {
    const out = path.join(temp.dir, 'ok.img');
    await writeAtomically(out, (tempPath) => writeFile(tempPath, 'done'));
    expect(readdirSync(temp.dir)).toEqual(['ok.img']);
  });

  it('removes the partial file and keeps the old output when the build fails', async () => {
    const out = path.join(temp.dir, 'ok.img');
    await expect(
      writeAtomically(out, async (tempPath) => {
        await writeFile(tempPath, 'half');
        throw new Error('tool failed');
      }),
    ).rejects.toThrow('tool failed');
    expect(readdirSync(temp.dir)).toEqual(['ok.img']);
  });

  it('removes partial outputs when the process gets SIGTERM mid-build', async () => {
    const out = path.join(temp.dir, 'killed.img');
    // A child that starts writing and then hangs, as a long mke2fs or copy would.
    const child = spawn(process.execPath, [
      '--import', 'tsx', '-e',
      `import { writeAtomically } from ${JSON.stringify(path.resolve('tools/src/lib/atomic-output.ts'))};
       import { writeFileSync } from 'node:fs';
       await writeAtomically(${JSON.stringify(out)}, async (p) => { writeFileSync(p, 'partial'); console.log('started'); await new Promise(() => setInterval(() => {}, 1000)); });`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    expect(readdirSync(temp.dir).some((f) => f.startsWith('.killed.img.partial-'))).toBe(true);
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(143);
    expect(stderr).toContain('icos: interrupted by SIGTERM: partial outputs removed');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(temp.dir).filter((f) => f.includes('killed'))).toEqual([]);
  });
});
