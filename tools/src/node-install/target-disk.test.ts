import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../../test/support/tools.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { peekArchivedImage } from './image-stream.ts';
import { targetDiskBytes } from './target-disk.ts';

const runner = new ExecaCommandRunner();
const { at } = useTempDir('icos-target-disk-');

describe('targetDiskBytes: a block device or a disk image file, anything else named', () => {
  it('takes a regular file as a disk image of its length', async () => {
    writeFileSync(at('disk.img'), Buffer.alloc(4096));
    expect(await targetDiskBytes(at('disk.img'), runner)).toBe(4096);
  });

  it('names a missing path, a directory and a FIFO without calling blockdev', async () => {
    mkdirSync(at('folder'));
    execFileSync('mkfifo', [at('pipe')]);
    await expect(targetDiskBytes(at('missing.img'), runner)).rejects.toThrow(`--target "${at('missing.img')}": cannot be read: no such file or directory`);
    await expect(targetDiskBytes(at('folder'), runner)).rejects.toThrow(`--target "${at('folder')}": is a directory, expected a disk or a disk image file`);
    await expect(targetDiskBytes(at('pipe'), runner)).rejects.toThrow(`--target "${at('pipe')}": is a FIFO, expected a disk or a disk image file`);
  });
});

describe('peekArchivedImage: the archive must be a regular file before zstd opens it', () => {
  it('names a missing archive, a directory and a FIFO (which would block zstd)', async () => {
    mkdirSync(at('archive-folder'));
    execFileSync('mkfifo', [at('archive-pipe')]);
    await expect(peekArchivedImage(at('gone.tar.zst'), '--archive', runner)).rejects.toThrow(`--archive "${at('gone.tar.zst')}": cannot be read: no such file or directory`);
    await expect(peekArchivedImage(at('archive-folder'), '--archive', runner)).rejects.toThrow('is a directory, expected a regular file');
    await expect(peekArchivedImage(at('archive-pipe'), '--host-archive', runner)).rejects.toThrow(`--host-archive "${at('archive-pipe')}": is a FIFO, expected a regular file`);
  });
});
