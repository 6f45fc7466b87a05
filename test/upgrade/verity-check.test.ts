/**
 * verity_check (components/upgrade/verity-check) against `veritysetup verify`: on trees that
 * veritysetup format made, with one byte changed in data, holes, every tree level, the padding
 * and the superblock, both give the same verdict; and verity_check names the device and the rule.
 */
import { copyFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { tool, toolStatus, useTempDir } from '../support/tools.ts';
import { compileVerityCheck } from '../support/verity-check.ts';

const MiB = 1024 * 1024;
const BLOCK = 4096;
// 20000 data blocks: three tree levels (157, 2 and 1 hash blocks), the last block of each partly filled.
const DATA_BLOCKS = 20000;
const HASH_OFFSET = 84 * MiB;
const IMAGE_BYTES = 88 * MiB;
const SALT = 'c0ffee'.repeat(10) + 'beef';
const temp = useTempDir('verity-check');
const at = temp.at;
let verityCheck: string;
let good: string;
let rootHash: string;

function format(file: string, args: string[]): string {
  const out = tool('veritysetup', ['format', file, file, ...args]);
  return /Root hash:\s+([0-9a-f]+)/.exec(out)![1]!;
}

/** Random data in some places, zeros (holes) in the rest, as an upgraded root has. */
function writeData(file: string, bytes: number): void {
  tool('truncate', ['-s', String(bytes), file]);
  for (const [seekMiB, countMiB] of [[0, 3], [20, 1], [70, 2]] as const) {
    tool('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1M', `seek=${seekMiB}`, `count=${countMiB}`, 'conv=notrunc', 'status=none']);
  }
}

function changeByte(file: string, offset: number): void {
  const byte = tool('sh', ['-c', `dd if='${file}' bs=1 skip=${offset} count=1 status=none | od -An -tu1`]).trim();
  const flipped = (Number(byte) ^ 0xff).toString(8).padStart(3, '0');
  tool('sh', ['-c', `printf '\\${flipped}' | dd of='${file}' bs=1 seek=${offset} conv=notrunc status=none`]);
}

function verdicts(file: string, hash = rootHash, offset = HASH_OFFSET): { veritysetup: boolean; verityCheck: boolean; stderr: string } {
  const reference = toolStatus('veritysetup', ['verify', file, file, hash, `--hash-offset=${offset}`]);
  const ours = toolStatus(verityCheck, [file, hash, String(offset)]);
  return { veritysetup: reference.status === 0, verityCheck: ours.status === 0, stderr: ours.stderr };
}

beforeAll(() => {
  verityCheck = compileVerityCheck(at('verity_check'));
  good = at('good.img');
  writeData(good, IMAGE_BYTES);
  rootHash = format(good, [`--hash-offset=${HASH_OFFSET}`, `--data-blocks=${DATA_BLOCKS}`, `--salt=${SALT}`]);
}, 60_000);

// Byte offsets into the image, and whether veritysetup must still accept it.
const tree = (block: number, byte: number) => HASH_OFFSET + BLOCK * (1 + block) + byte;
const CHANGES: [string, number][] = [
  ['a data byte among random data', 2 * MiB + 12345],
  ['a data byte in a run of zero blocks (a hole)', 40 * MiB + 7],
  ['the last byte of the last data block', DATA_BLOCKS * BLOCK - 1],
  ['the top level block, first byte', tree(0, 0)],
  ['the top level block, its zero padding', tree(0, 4095)],
  ['level 1, first block', tree(1, 100)],
  ['level 1, the padding of its last block', tree(2, 29 * 32 + 5)],
  ['level 0, a block of zero-block hashes', tree(3 + 100, 64)],
  ['level 0, the padding of its last block', tree(3 + 156, 32 * 32 + 1)],
  ['the salt in the superblock', HASH_OFFSET + 88 + 3],
  ['the UUID in the superblock (not hashed)', HASH_OFFSET + 16 + 2],
  ['between the data and the hash offset (not covered)', DATA_BLOCKS * BLOCK + 100],
  ['after the tree (not covered)', tree(3 + 157, 9)],
];

describe('verity_check gives veritysetup verify\'s verdict', () => {
  it('accepts the tree veritysetup format wrote', () => {
    expect(verdicts(good)).toEqual({ veritysetup: true, verityCheck: true, stderr: '' });
  });

  it.each(CHANGES)('with one byte changed: %s', (_label, offset) => {
    const file = at('changed.img');
    copyFileSync(good, file);
    changeByte(file, offset);
    const result = verdicts(file);
    expect(result.verityCheck).toBe(result.veritysetup);
    if (!result.verityCheck) expect(result.stderr).toMatch(new RegExp(`^verity_check: ${file}: .*verification failed\n$`));
  });

  it('refuses a data block made equal to the one before it (a reused hash must be for equal bytes only)', () => {
    const file = at('equal.img');
    copyFileSync(good, file);
    tool('dd', [`if=${good}`, `of=${file}`, `bs=${BLOCK}`, 'skip=10', 'seek=11', 'count=1', 'conv=notrunc', 'status=none']);
    expect(verdicts(file)).toMatchObject({ veritysetup: false, verityCheck: false });
  });

  it('refuses another root hash', () => {
    const other = (rootHash[0] === '0' ? '1' : '0') + rootHash.slice(1);
    const result = verdicts(good, other);
    expect(result).toMatchObject({ veritysetup: false, verityCheck: false });
    expect(result.stderr).toBe(`verity_check: ${good}: the tree's top block does not hash to the root hash ${other}: verification failed\n`);
  });

  it.each([
    ['without a salt', ['--salt=-'], 1200],
    ['with 1 KiB blocks', ['--data-block-size=1024', '--hash-block-size=1024'], 5000],
    ['of a single data block (no tree level)', [], 1],
  ])('agrees on a tree %s', (label, args, blocks) => {
    const file = at(`format-${blocks}.img`);
    writeData(file, 8 * MiB);
    const dataBytes = blocks * (args.includes('--data-block-size=1024') ? 1024 : BLOCK);
    const hash = format(file, [...args, `--hash-offset=${6 * MiB}`, `--data-blocks=${blocks}`]);
    expect(verdicts(file, hash, 6 * MiB)).toEqual({ veritysetup: true, verityCheck: true, stderr: '' });
    changeByte(file, dataBytes - 1);
    expect(verdicts(file, hash, 6 * MiB)).toMatchObject({ veritysetup: false, verityCheck: false });
  });
});

describe('verity_check on bad input', () => {
  it.each([
    ['a root hash that is not hex', () => [good, 'xyz', String(HASH_OFFSET)], /root hash "xyz" is not 64 lower-case hex digits/],
    ['a hash offset that is not a multiple of 512', () => [good, rootHash, '1000'], /hash offset "1000" is not a multiple of 512 bytes/],
    ['a hash offset without a superblock', () => [good, rootHash, '0'], /no verity superblock at the hash offset 0/],
    ['a missing device', () => [at('missing.img'), rootHash, String(HASH_OFFSET)], /missing\.img: cannot open: No such file or directory/],
    ['a device cut inside its tree', () => {
      const file = at('cut.img');
      copyFileSync(good, file);
      tool('truncate', ['-s', String(tree(50, 0)), file]);
      return [file, rootHash, String(HASH_OFFSET)];
    }, /cut\.img: is \d+ bytes, the hash tree ends at byte \d+/],
    ['a superblock of another hash', () => {
      const file = at('sha1.img');
      writeData(file, 8 * MiB);
      format(file, ['--hash=sha1', `--hash-offset=${6 * MiB}`, '--data-blocks=100']);
      return [file, rootHash, String(6 * MiB)];
    }, /verity hash algorithm "sha1", only sha256 is supported/],
  ])('%s: one line naming the device, exit 1', (_label, args, message) => {
    const result = toolStatus(verityCheck, args());
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^verity_check: [^\n]+\n$/);
    expect(result.status).toBe(1);
  });

  it('prints its usage for a wrong argument count', () => {
    expect(toolStatus(verityCheck, [good])).toMatchObject({ status: 1, stderr: 'usage: verity_check DEVICE ROOT_HASH HASH_OFFSET\n' });
  });
});
