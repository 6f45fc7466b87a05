import { execFileSync } from 'node:child_process';
import { open, stat } from 'node:fs/promises';

/** Test helpers shared by the sparse-tar and upgrade-image tests (independent tools only). */

/** Runs a host tool and returns its stdout; throws (failing the test) on a non-zero exit. */
export function tool(command: string, args: readonly string[], input?: Buffer): Buffer {
  return execFileSync(command, args, { input, maxBuffer: 1 << 30, env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' } });
}

/** `zstd -dc archive | tar <args> -f -`, as text. */
export function tarOfZstd(archive: string, args: readonly string[]): string {
  return tool('tar', [...args, '-f', '-'], tool('zstd', ['-q', '-dc', archive])).toString();
}

/** Creates a file of `size` bytes that is one filesystem hole except for `writes`. */
export async function sparseFile(path: string, size: number, writes: ReadonlyArray<[number, Buffer]>): Promise<void> {
  const file = await open(path, 'w');
  try {
    await file.truncate(size);
    for (const [offset, bytes] of writes) await file.write(bytes, 0, bytes.length, offset);
  } finally {
    await file.close();
  }
}

/** Random bytes without any zero byte, so every 4 KiB block of them is data. */
export function noisyBytes(length: number): Buffer {
  const bytes = tool('head', ['-c', String(length), '/dev/urandom']);
  for (let i = 0; i < bytes.length; i += 1) if (bytes[i] === 0) bytes[i] = 1;
  return bytes;
}

/** The regions the filesystem reports as data (SEEK_DATA/SEEK_HOLE through perl, not our addon). */
export function filesystemDataRegions(path: string): Array<[number, number]> {
  const script =
    'open(my $f, "<", $ARGV[0]) or die; my $size = -s $f; my $pos = 0;' +
    'while ($pos < $size) { my $d = sysseek($f, $pos, 3); last unless defined $d;' +
    ' my $h = sysseek($f, $d, 4); print 0 + $d, " ", 0 + $h, "\\n"; $pos = $h }';
  return tool('perl', ['-e', script, path])
    .toString()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split(' ').map(Number) as [number, number]);
}

/**
 * Asserts two files are byte-identical without reading their holes: same size, and `cmp` equal
 * over every region either file has data in (outside those regions both read as zeros).
 */
export async function expectSameSparseBytes(a: string, b: string): Promise<void> {
  const [sizeA, sizeB] = [(await stat(a)).size, (await stat(b)).size];
  if (sizeA !== sizeB) throw new Error(`${a} has ${sizeA} bytes, ${b} has ${sizeB}`);
  for (const [start, end] of [...filesystemDataRegions(a), ...filesystemDataRegions(b)]) {
    tool('cmp', ['-i', `${start}:${start}`, '-n', String(end - start), a, b]);
  }
}
