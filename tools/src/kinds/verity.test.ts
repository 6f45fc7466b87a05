import { createHash } from 'node:crypto';
import { open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../definitions.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { icosInProcess, type IcosRun, useTempDir } from '../../../test/support/tools.ts';
import { VERITY_BLOCK_SIZE, verityLayout } from './verity/verity-layout.ts';
import { verityTree } from './verity/verity-tree.ts';

// Every expectation comes from veritysetup 2.6.1 (cryptsetup-bin): format, dump output, verify.
const runner = new ExecaCommandRunner();
const quietLog: Logger = { info() {}, verbose() {}, warn() {} };
const UUID = '1736291d-aceb-42d7-b044-43ee31d86cd4';
const IC_OS_SALT = '89bc06702975f10b41dd53e26eb9aef0adde93bc13d73e8f26b496dddefe2483';
const IC_OS_HASH_OFFSET = 10603200512;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Reproducible filler bytes (sha256 in counter mode), so a failing case can be rerun as is. */
function pseudoRandom(length: number, seed: string): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0, counter = 0; at < length; at += 32, counter++) {
    createHash('sha256').update(`${seed}/${counter}`).digest().copy(out, at);
  }
  return out;
}

interface Piece {
  offset: number;
  bytes: Buffer;
}

/** A sparse file of `size` bytes holding `pieces`, everything else a hole. */
async function makeImage(file: string, size: number, pieces: readonly Piece[]): Promise<void> {
  await writeFile(file, '');
  await truncate(file, size);
  const handle = await open(file, 'r+');
  try {
    for (const { offset, bytes } of pieces) await handle.write(bytes, 0, bytes.length, offset);
  } finally {
    await handle.close();
  }
}

/** Runs `icos` in-process with the quiet logger. */
function icos(args: readonly string[]): Promise<IcosRun> {
  return icosInProcess(args, { runner, log: quietLog });
}

/** Copies `image` and formats the copy with veritysetup, as IC-OS's verity_sign.py does. */
async function veritysetupFormat(image: string, reference: string, hashOffset: number, salt: string) {
  await runner.run('cp', ['--sparse=always', image, reference]);
  const { stdout } = await runner.run('veritysetup', [
    'format', reference, reference,
    '--hash-offset', String(hashOffset),
    '--salt', salt,
    '--uuid', UUID,
  ]);
  const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)$`, 'm').exec(stdout)?.[1];
  return { rootHash: field('Root hash'), hashBlocks: Number(field('Hash blocks')) };
}

async function verify(file: string, rootHash: string, hashOffset: number): Promise<number> {
  const args = ['verify', file, file, rootHash, '--hash-offset', String(hashOffset)];
  return (await runner.run('veritysetup', args, { okExitCodes: [1, 2, 3, 4, 5] })).exitCode;
}

interface Case {
  name: string;
  size: number;
  hashOffset: number;
  salt: string;
  pieces: Piece[];
}

const CASES: Case[] = [
  {
    name: 'tiny 8 KiB of data, 32-byte salt',
    size: 8192,
    hashOffset: 8192,
    salt: IC_OS_SALT,
    pieces: [{ offset: 0, bytes: pseudoRandom(8192, 'tiny') }],
  },
  {
    name: 'a single data block (no hash level), salt "-"',
    size: 4096,
    hashOffset: 4096,
    salt: '-',
    pieces: [{ offset: 0, bytes: pseudoRandom(4096, 'single') }],
  },
  {
    name: '3 MiB of random data, hash area far behind, 1-byte mixed-case salt',
    size: 3 * MiB,
    hashOffset: 5 * MiB,
    salt: 'aB',
    pieces: [{ offset: 0, bytes: pseudoRandom(3 * MiB, 'three') }],
  },
  {
    name: '129 blocks (a partial hash block) with zero blocks between data, no salt',
    size: 129 * 4096,
    hashOffset: 129 * 4096,
    salt: '-',
    pieces: [
      { offset: 0, bytes: pseudoRandom(4096, 'first') },
      { offset: 127 * 4096 + 5, bytes: pseudoRandom(10, 'middle') },
      { offset: 128 * 4096, bytes: pseudoRandom(4096, 'last') },
    ],
  },
  {
    name: 'exactly 128 blocks, 256-byte salt (the longest)',
    size: 128 * 4096,
    hashOffset: 1 * MiB,
    salt: pseudoRandom(256, 'salt').toString('hex'),
    pieces: [{ offset: 64 * 4096, bytes: pseudoRandom(3 * 4096, 'half') }],
  },
  {
    name: 'all-zero 64 MiB image (2 levels of implied blocks only)',
    size: 64 * MiB,
    hashOffset: 64 * MiB,
    salt: '00',
    pieces: [],
  },
  {
    // 65536 data blocks hash to 512, 4 and 1 blocks: three levels, like 1 GiB, at a quarter of the time.
    name: 'sparse 256 MiB with scattered data (3 levels)',
    size: 256 * MiB,
    hashOffset: 256 * MiB + 64 * MiB,
    salt: 'c0ffee',
    pieces: [
      { offset: 0, bytes: pseudoRandom(1 * MiB, 'head') },
      { offset: 100 * MiB + 4096 * 3 + 17, bytes: pseudoRandom(70_000, 'unaligned') },
      { offset: 128 * MiB, bytes: pseudoRandom(2 * MiB, 'mid') },
      { offset: 256 * MiB - 4096, bytes: pseudoRandom(4096, 'tail') },
    ],
  },
];

describe('icos verity matches veritysetup format', () => {
  const { dir } = useTempDir('verity');

  it.each(CASES)('$name', async ({ name, size, hashOffset, salt, pieces }) => {
    const base = path.join(dir, name.replace(/\W+/g, '-'));
    const image = `${base}.img`;
    await makeImage(image, size, pieces);
    const imageBefore = await readFile(image);
    const out = `${base}.out`;
    const rootHashFile = `${base}.roothash`;
    const result = await icos(['verity', '--image', image, '--out', out, '--hash-offset', String(hashOffset),
      '--salt', salt, '--uuid', UUID, '--root-hash-out', rootHashFile]);
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });

    const reference = await veritysetupFormat(image, `${base}.ref`, hashOffset, salt);
    expect(await readFile(rootHashFile, 'utf8')).toBe(`${reference.rootHash}\n`);
    await runner.run('cmp', [out, `${base}.ref`]); // throws on the first differing byte
    expect((await readFile(image)).equals(imageBefore)).toBe(true);

    // The pure layout and tree agree with veritysetup too.
    const layout = verityLayout(size / VERITY_BLOCK_SIZE, hashOffset);
    expect(layout.levelBlocks.reduce((a, b) => a + b, 0)).toBe(reference.hashBlocks);
    expect((await stat(out)).size).toBe(layout.fileSize);
    const saltBytes = Buffer.from(salt === '-' ? '' : salt, 'hex');
    const alignedPieces = pieces.map(({ offset, bytes }) => {
      const start = Math.floor(offset / 4096) * 4096;
      const end = Math.ceil((offset + bytes.length) / 4096) * 4096;
      const block = Buffer.alloc(end - start);
      bytes.copy(block, offset - start);
      return { offset: start, bytes: block };
    });
    const tree = verityTree(size / VERITY_BLOCK_SIZE, saltBytes, alignedPieces);
    expect(tree.rootHash.toString('hex')).toBe(reference.rootHash);

    expect(await verify(out, reference.rootHash!, hashOffset)).toBe(0);
    const tampered = `${base}.tampered`;
    await runner.run('cp', ['--sparse=always', out, tampered]);
    const handle = await open(tampered, 'r+');
    const at = pieces[0]?.offset ?? 0;
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    await handle.write(Buffer.from([byte[0]! ^ 0x01]), 0, 1, at);
    await handle.close();
    expect(await verify(tampered, reference.rootHash!, hashOffset)).not.toBe(0);
    await rm(tampered);
  });

  // 1 GiB, not IC-OS's 3 GiB root: the same code path and levels at a third of the hashing (both
  // tools read every block); the built 3 GiB roots are checked by veritysetup verify in test/hostos/disk.test.ts.
  it('signs a sparse 1 GiB root with the IC-OS salt and hash offset and keeps it sparse', async () => {
    const image = path.join(dir, 'root.img');
    await makeImage(image, 1 * GiB, [
      { offset: 1024, bytes: pseudoRandom(64 * 1024, 'superblock') },
      { offset: 512 * MiB + 12345, bytes: pseudoRandom(300 * 1024, 'files') },
      { offset: 1 * GiB - 8192, bytes: pseudoRandom(8192, 'end') },
    ]);
    const out = path.join(dir, 'root.out');
    const rootHashFile = path.join(dir, 'root-hash');
    const result = await icos(['verity', '--image', image, '--out', out, '--hash-offset', String(IC_OS_HASH_OFFSET),
      '--salt', IC_OS_SALT, '--uuid', UUID, '--root-hash-out', rootHashFile]);
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
    const reference = await veritysetupFormat(image, path.join(dir, 'root.ref'), IC_OS_HASH_OFFSET, IC_OS_SALT);
    expect(await readFile(rootHashFile, 'utf8')).toBe(`${reference.rootHash}\n`);
    // cmp over the whole 10 GiB file would spend minutes reading holes: the data, then the hash
    // area, and filefrag (the file system's extent map) shows nothing was written in between.
    const ref = path.join(dir, 'root.ref');
    await runner.run('cmp', ['-n', String(1 * GiB), out, ref]);
    await runner.run('cmp', [`--ignore-initial=${IC_OS_HASH_OFFSET}`, out, ref]);
    const extents = (await runner.run('filefrag', ['-e', '-b4096', out])).stdout;
    const written = [...extents.matchAll(/^\s*\d+:\s+(\d+)\.\.\s*(\d+):/gm)].map((m) => ({ start: Number(m[1]) * 4096, end: (Number(m[2]) + 1) * 4096 }));
    expect(written.length).toBeGreaterThan(0);
    expect(written.filter(({ start, end }) => end > 1 * GiB && start < IC_OS_HASH_OFFSET)).toEqual([]);
    expect(reference.hashBlocks).toBe(2048 + 16 + 1);
    // Allocated: the 3 data pieces (rounded up) plus superblock and 2065 hash blocks, about 8.5 MiB.
    const { stdout } = await runner.run('du', ['--block-size=1', out]);
    expect(Number(stdout.split('\t')[0])).toBeLessThan(10 * MiB);
    expect((await stat(out)).size).toBe(IC_OS_HASH_OFFSET + 4096 + 2065 * 4096);
  }, 600_000);
});

describe('icos verity rejects bad options before writing anything', () => {
  const { dir } = useTempDir('verity-errors');
  const image = path.join(dir, 'in.img');
  beforeAll(async () => {
    await makeImage(image, 8192, [{ offset: 0, bytes: pseudoRandom(100, 'x') }]);
    await writeFile(path.join(dir, 'odd.img'), pseudoRandom(5000, 'odd'));
    await writeFile(path.join(dir, 'empty.img'), '');
    await runner.run('mkfifo', [path.join(dir, 'fifo')]);
  });

  const longSalt = 'ab'.repeat(257);
  it.each([
    ['an image size that is not a multiple of 4096', { image: 'odd.img' },
      'verity(DIR/odd.img): --image is 5000 bytes, not a multiple of the 4096-byte data block size'],
    ['an empty image', { image: 'empty.img' },
      'verity(DIR/empty.img): --image is empty: dm-verity needs at least one 4096-byte data block'],
    ['a missing image', { image: 'missing.img' }, 'verity: --image "DIR/missing.img": cannot be read: no such file or directory'],
    ['a FIFO as image (never opened)', { image: 'fifo' }, 'verity: --image "DIR/fifo": is a FIFO, expected a regular file'],
    ['a directory as image', { image: '.' }, 'verity: --image "DIR": is a directory, expected a regular file'],
    ['a hash offset that is not a multiple of 4096', { hashOffset: '8704' },
      'verity(DIR/in.img): --hash-offset 8704: must be a multiple of the 4096-byte hash block size'],
    ['a hash offset inside the data', { hashOffset: '4096' },
      'verity(DIR/in.img): --hash-offset 4096 bytes (4 KiB) is below the image size 8192 bytes (8 KiB): the hash area would overlap the data'],
    ['a hash offset that is no number', { hashOffset: 'end' },
      'verity(DIR/in.img): --hash-offset "end": expected a number of bytes with an optional K, M, G or T suffix'],
    ['a salt that is not hex', { salt: 'salty' },
      'verity(DIR/in.img): --salt "salty": expected an even number of hex digits, or "-" for no salt'],
    ['a salt with an odd number of digits', { salt: 'abc' },
      'verity(DIR/in.img): --salt "abc": expected an even number of hex digits, or "-" for no salt'],
    ['a salt longer than 256 bytes', { salt: longSalt },
      'verity(DIR/in.img): --salt is 257 bytes, longer than the 256 bytes the superblock holds'],
    ['a uuid that is not a UUID', { uuid: '1736291d-aceb-42d7-b044' },
      'verity(DIR/in.img): --uuid "1736291d-aceb-42d7-b044": expected a UUID of 8-4-4-4-12 hex digits'],
  ])('%s', async (_name, override, message) => {
    const options = { image: 'in.img', hashOffset: '8192', salt: '00', uuid: UUID, ...override };
    const before = await readdir(dir);
    const result = await icos(['verity',
      '--image', path.join(dir, options.image),
      '--out', path.join(dir, 'out.img'),
      '--hash-offset', options.hashOffset,
      '--salt', options.salt,
      '--uuid', options.uuid,
      '--root-hash-out', path.join(dir, 'root-hash')]);
    expect(result).toEqual({ code: 1, stdout: '', stderr: `icos: ${message.replaceAll('DIR', dir)}\n` });
    expect(await readdir(dir)).toEqual(before);
  });
});

describe('icos verity writes both outputs or neither', () => {
  const { dir, at } = useTempDir('verity-outputs');
  const args = (image: string, out: string, rootHashOut = at('root-hash')) => ['verity', '--image', image, '--out', out,
    '--hash-offset', '8192', '--salt', '00', '--uuid', UUID, '--root-hash-out', rootHashOut];
  beforeAll(async () => {
    await makeImage(at('in.img'), 8192, [{ offset: 0, bytes: pseudoRandom(8192, 'in') }]);
    await runner.run('ln', [at('in.img'), at('hard-link.img')]);
    await runner.run('ln', ['-s', 'in.img', at('soft-link.img')]);
  });

  it.each([
    ['the same path', 'in.img', 'in.img'],
    ['the same path spelled differently', 'in.img', './in.img'],
    ['a hard link to the image', 'in.img', 'hard-link.img'],
    ['a symbolic link to the image', 'in.img', 'soft-link.img'],
  ])('refuses --out that is the image: %s', async (_name, image, out) => {
    const before = await readFile(at('in.img'));
    const listing = await readdir(dir);
    const result = await icos(args(at(image), path.join(dir, out)));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`icos: verity: --out "${path.join(dir, out)}": is the --image "${at(image)}" itself: write the output to another file\n`);
    expect(await readFile(at('in.img'))).toEqual(before);
    expect(await readdir(dir)).toEqual(listing);
  });

  it('refuses --out /dev/null and leaves the device alone', async () => {
    const before = await stat('/dev/null');
    const result = await icos(args(at('in.img'), '/dev/null'));
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'icos: --out "/dev/null": is a character device: only a regular file (or nothing) is replaced by an output\n',
    });
    const after = await stat('/dev/null');
    expect([after.isCharacterDevice(), after.rdev, after.ino]).toEqual([true, before.rdev, before.ino]);
    await expect(stat(at('root-hash'))).rejects.toThrow();
  });

  it('writes no root hash when the image cannot be written (full file system)', async () => {
    const small = at('small');
    await runner.run('mkdir', [small]);
    const mounted = await runner.run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]).then(() => true, () => false);
    if (!mounted) return void console.warn('skipped: mounting a tmpfs is not permitted here');
    try {
      await makeImage(at('big.img'), 4 * MiB, [{ offset: 0, bytes: pseudoRandom(2 * MiB, 'big') }]);
      const out = path.join(small, 'out.img');
      const result = await icos(['verity', '--image', at('big.img'), '--out', out, '--hash-offset', String(4 * MiB),
        '--salt', '00', '--uuid', UUID, '--root-hash-out', at('root-hash')]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`icos: --out "${out}": cannot be written: no space left on device\n  hint: free space there and run again\n`);
      expect(await readdir(small)).toEqual([]);
      await expect(stat(at('root-hash'))).rejects.toThrow();
      expect((await readdir(dir)).filter((name) => name.includes('partial'))).toEqual([]);
    } finally {
      await runner.run('umount', [small]);
    }
  });

  it('writes both when the image is written', async () => {
    const result = await icos(args(at('in.img'), at('out.img')));
    expect(result.code).toBe(0);
    expect((await readFile(at('root-hash'), 'utf8'))).toMatch(/^[0-9a-f]{64}\n$/);
    expect((await stat(at('out.img'))).size).toBeGreaterThan(8192);
  });
});
