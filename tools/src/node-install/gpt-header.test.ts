import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, readSync, rmSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupRegionStart, readGptHeader } from './gpt-header.ts';

describe('readGptHeader', () => {
  it('finds where the backup table sfdisk wrote begins', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'icos-gpt-header-'));
    try {
      const disk = path.join(dir, 'disk.img');
      execFileSync('truncate', ['-s', '64M', disk]);
      execFileSync('sfdisk', ['--quiet', disk], { input: 'label: gpt\n,10M\n,10M\n' });
      const head = Buffer.alloc(1024 * 1024);
      const fd = openSync(disk, 'r');
      readSync(fd, head, 0, head.length, 0);
      closeSync(fd);
      const header = readGptHeader(head);
      const sectors = (64 * 1024 * 1024) / 512;
      // What sfdisk reports as the last usable sector; the backup header is the disk's last sector.
      const json = JSON.parse(execFileSync('sfdisk', ['--json', disk]).toString()) as { partitiontable: { lastlba: number } };
      expect(header).toEqual({ alternateLba: sectors - 1, lastUsableLba: json.partitiontable.lastlba });
      expect(backupRegionStart(header as Exclude<typeof header, string>)).toBe((json.partitiontable.lastlba + 1) * 512);
      expect(readGptHeader(Buffer.alloc(1024))).toMatch(/no "EFI PART" signature/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
