import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { icosInProcess } from '../support/tools.ts';
import { resolveLayout } from '../../tools/src/os/layout.ts';
import { renderLayoutFacts } from '../../tools/src/os/layout-facts.ts';
import { REPO_ROOT } from '../../tools/src/lib/repo-root.ts';

/**
 * Shared inputs of the bad-input corpus, made once by name on first use in one directory. Tars
 * and images are made with GNU tar, mkfs and shell tools, not by icos, except the archives
 * `icos pack` must recognise (and the bad ones derived from them byte by byte).
 */

const MiB = 1024 * 1024;

function sh(command: string, args: readonly string[], options: { cwd?: string; input?: Buffer | string } = {}): Buffer {
  return execFileSync(command, args, { cwd: options.cwd, input: options.input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** Deterministic non-zero bytes (so nothing is a hole and two seeds differ). */
function pattern(length: number, seed: string): Buffer {
  const out = Buffer.alloc(length);
  let block = Buffer.alloc(0);
  for (let at = 0, n = 0; at < length; at += block.length, n += 1) {
    block = createHash('sha256').update(`${seed}:${n}`).digest();
    block.copy(out, at);
  }
  return out;
}

/** A tar of the entries `make` creates in a fresh directory, archived by GNU tar from `.`. */
function tarOf(dir: string, out: string, make: (tree: string) => void, tarArgs: string[] = ['.']): void {
  const tree = path.join(dir, `${path.basename(out)}.tree`);
  mkdirSync(tree, { recursive: true });
  make(tree);
  sh('tar', ['--numeric-owner', '--owner=0', '--group=0', '-cf', out, '-C', tree, ...tarArgs]);
}

function smallTree(tree: string): void {
  mkdirSync(path.join(tree, 'etc'), { recursive: true });
  mkdirSync(path.join(tree, 'usr/bin'), { recursive: true });
  mkdirSync(path.join(tree, 'boot'), { recursive: true });
  writeFileSync(path.join(tree, 'etc/hello'), 'hello\n');
  writeFileSync(path.join(tree, 'boot/vmlinuz'), 'kernel\n');
}

/** The trailer of an icos frame index: [JSON][JSON length u32 LE]["icosidx1"]. */
function splitIndex(archive: Buffer): { body: Buffer; index: Record<string, unknown> } {
  const jsonLength = archive.readUInt32LE(archive.length - 12);
  const jsonStart = archive.length - 12 - jsonLength;
  const index = JSON.parse(archive.subarray(jsonStart, jsonStart + jsonLength).toString('utf8')) as Record<string, unknown>;
  return { body: archive.subarray(0, jsonStart - 8), index };
}

/** A skippable zstd frame holding `index` as icos writes it (written here from the format, not by icos). */
function withIndex(body: Buffer, index: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(index), 'utf8');
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a5e, 0);
  head.writeUInt32LE(json.length + 12, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(json.length, 0);
  return Buffer.concat([body, head, json, tail, Buffer.from('icosidx1', 'latin1')]);
}

type Frame = { sha256: string; raw: number; at: number; size: number; frameSha256: string };

async function pack(out: string, member: string): Promise<void> {
  const run = await icosInProcess(['pack', '--out', out, '--member', `disk.img=${member}`]);
  if (run.code !== 0) throw new Error(`fixture ${out}: ${run.stderr}`);
}

/** How each fixture is made, given its path and the fixture directory. Paths that exist already map to themselves. */
const BUILDERS: Record<string, (file: string, dir: string, need: (name: string) => Promise<string>) => void | Promise<void>> = {
  missing: () => {},
  dir: (file) => mkdirSync(file),
  fifo: (file) => void sh('mkfifo', [file]),
  socket: () => {},
  empty: (file) => writeFileSync(file, ''),
  text: (file) => writeFileSync(file, 'not a disk image\n'),
  binary: (file) => writeFileSync(file, Buffer.concat([Buffer.from('\x1b[31mred\x07\x00\x01\xff\xfe,\n', 'latin1'), pattern(300, 'bin')])),
  'symlink-to-fifo': async (file, _dir, need) => symlinkSync(await need('fifo'), file),
  'img.1m': (file) => writeFileSync(file, pattern(MiB, 'one')),
  'img.1m-other': (file) => writeFileSync(file, pattern(MiB, 'other')),
  'img.8k': (file) => writeFileSync(file, pattern(8192, 'eight')),
  'img.5000': (file) => writeFileSync(file, pattern(5000, 'odd')),
  'img.101m-sparse': (file) => {
    writeFileSync(file, '');
    truncateSync(file, 101 * MiB);
  },
  'img.3m': (file) => writeFileSync(file, pattern(3 * MiB, 'three')),
  ext4: (file) => {
    writeFileSync(file, '');
    truncateSync(file, 4 * MiB);
    sh('mkfs.ext4', ['-q', '-F', '-E', 'root_owner=0:0', file]);
  },
  'hello.txt': (file) => writeFileSync(file, 'hello\n'),
  'tree.tar': (file, dir) => tarOf(dir, file, smallTree),
  'symlink.tar': (file, dir) => tarOf(dir, file, (tree) => {
    smallTree(tree);
    symlinkSync('/etc/hello', path.join(tree, 'etc/link'));
  }),
  'fifo.tar': (file, dir) => tarOf(dir, file, (tree) => {
    smallTree(tree);
    sh('mkfifo', [path.join(tree, 'etc/pipe')]);
  }),
  // Two names that are not UTF-8 (Latin-1 é and è): kept apart as bytes, or refused; never one U+FFFD file.
  'latin1.tar': (file, dir) => tarOf(dir, file, (tree) => {
    smallTree(tree);
    writeFileSync(Buffer.from(`${tree}/etc/caf\xe9`, 'latin1'), 'e acute\n');
    writeFileSync(Buffer.from(`${tree}/etc/caf\xe8`, 'latin1'), 'e grave\n');
  }),
  // 300 bytes in one name: more than ext4 and FAT hold (the host cannot make it, so tar renames).
  'long-component.tar': (file, dir) =>
    tarOf(dir, file, smallTree, [`--transform=s,hello$,${'n'.repeat(300)},`, '.']),
  'dotdot.tar': (file, dir) => tarOf(dir, file, smallTree, ['--transform=s,^\\./etc/hello$,../escape,', '-P', '.']),
  'same-name-twice.tar': (file, dir) => tarOf(dir, file, smallTree, ['./etc/hello', './etc/hello']),
  'zero.tar': (file) => writeFileSync(file, ''),
  'garbage.tar': (file) => writeFileSync(file, pattern(4096, 'garbage')),
  'truncated.tar': async (file, _dir, need) => writeFileSync(file, readFileSync(await need('tree.tar')).subarray(0, 700)),
  'big.tar': (file, dir) => tarOf(dir, file, (tree) => {
    writeFileSync(path.join(tree, 'big'), '');
    truncateSync(path.join(tree, 'big'), 6 * MiB);
  }),
  'archive.tzst': async (file, _dir, need) => pack(file, await need('img.1m')),
  'archive-other.tzst': async (file, _dir, need) => pack(file, await need('img.1m-other')),
  'plain.tar': async (file, _dir, need) => {
    const run = await icosInProcess(['pack', '--out', file, '--member', `disk.img=${await need('img.1m')}`]);
    if (run.code !== 0) throw new Error(run.stderr);
  },
  'plain.zst': (file) => writeFileSync(file, sh('zstd', ['-q', '-c'], { input: 'not an icos archive\n' })),
  // One byte flipped inside the first data frame: the index still names the old content.
  'corrupt.tzst': async (file, _dir, need) => {
    const archive = Buffer.from(readFileSync(await need('archive.tzst')));
    const frames = splitIndex(archive).index.frames as Frame[];
    const data = frames.reduce((a, b) => (b.size > a.size ? b : a));
    const at = data.at + Math.floor(data.size / 2);
    archive[at] = archive[at]! ^ 0xff;
    writeFileSync(file, archive);
  },
  // The frames of img.1m-other under the content hashes of img.1m: trusting it packs wrong bytes.
  'rewritten.tzst': async (file, _dir, need) => {
    const mine = splitIndex(readFileSync(await need('archive.tzst'))).index;
    const other = splitIndex(readFileSync(await need('archive-other.tzst')));
    const mineFrames = mine.frames as Frame[];
    const frames = (other.index.frames as Frame[]).map((frame, i) => ({ ...frame, sha256: mineFrames[i]!.sha256, raw: mineFrames[i]!.raw }));
    writeFileSync(file, withIndex(other.body, { ...other.index, frames }));
  },
  'frames5.tzst': async (file, _dir, need) => {
    const { body, index } = splitIndex(readFileSync(await need('archive.tzst')));
    writeFileSync(file, withIndex(body, { ...index, frames: 5 }));
  },
  'frames-null.tzst': async (file, _dir, need) => {
    const { body, index } = splitIndex(readFileSync(await need('archive.tzst')));
    writeFileSync(file, withIndex(body, { ...index, frames: null }));
  },
  'negative-offset.tzst': async (file, _dir, need) => {
    const { body, index } = splitIndex(readFileSync(await need('archive.tzst')));
    writeFileSync(file, withIndex(body, { ...index, frames: (index.frames as Frame[]).map((f) => ({ ...f, at: -512 })) }));
  },
  'index-past-end.tzst': async (file, _dir, need) => {
    const archive = readFileSync(await need('archive.tzst'));
    const copy = Buffer.from(archive);
    copy.writeUInt32LE(0x7fffffff, copy.length - 12);
    writeFileSync(file, copy);
  },
  'disk.img': async (file, dir) => {
    const csv = path.join(dir, 'disk-partitions.csv');
    writeFileSync(csv, 'esp, 2048, 2048, U, B78084E2-3363-1346-8C25-D426F26B8928, esp\n');
    const run = await icosInProcess(['disk', '--partitions', csv, '--out', file]);
    if (run.code !== 0) throw new Error(run.stderr);
  },
  'disk-img.tar.zst': async (file, _dir, need) => pack(file, await need('disk.img')),
  'vm.json': async (file) => {
    const description = 'components/hostos/virtualization/guestos-vm.json';
    const layout = await resolveLayout('hostos');
    writeFileSync(file, renderLayoutFacts(readFileSync(path.join(REPO_ROOT, description), 'utf8'), layout.facts, description, []));
  },
  'node-config': (file) => {
    mkdirSync(path.join(file, 'keys'), { recursive: true });
    writeFileSync(path.join(file, 'config.ini'), 'ipv6_prefix=2001:db8:0:1\nipv6_gateway=2001:db8:0:1::1\n');
    writeFileSync(path.join(file, 'deployment.json'), '{"deployment":{"name":"testnet","mgmt_mac":"70:B5:E8:E8:25:DE"},"resources":{"cpu":"qemu","memory":"1G"}}');
    writeFileSync(path.join(file, 'keys/admin'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEtest0000000000000000000000000000000000000000 admin@test\n');
  },
  'layout.json': (file) =>
    writeFileSync(file, '{"physicalVolumePartition":"pv","volumeGroup":"vg","guestVolume":"guest","configVolume":"config"}'),
  'proc-dir': (file) => {
    mkdirSync(file);
    writeFileSync(path.join(file, 'cpuinfo'), 'processor\t: 0\nflags\t\t: sev_snp\n');
    writeFileSync(path.join(file, 'meminfo'), 'MemTotal:       1024 kB\n');
  },
  'parts.csv': (file) => writeFileSync(file, 'esp, 2048, 2048, U, B78084E2-3363-1346-8C25-D426F26B8928, esp\nA_root, 4096, 2048, L, 7C0A626E-E5EA-E543-B5C5-300EB8304DB7, root\n'),
  'vols.csv': (file) => writeFileSync(file, 'config, 0, 1, Hq7Zt4-c2Lm-9VxR-pN3e-Wk8s-Jd5f-Yb6gUa, config\nA_boot, 1, 1, 0BQNUA-dzGu-wvW5-mMRh-Ptr6-J6DT-Ff2a9x, boot\n'),
};

/** Paths that are not made: they are what their name says. */
const SYSTEM_PATHS: Record<string, string> = { devnull: '/dev/null', devzero: '/dev/zero', devfull: '/dev/full' };

export const FIXTURE_NAMES = new Set([...Object.keys(BUILDERS), ...Object.keys(SYSTEM_PATHS)]);

/** Makes fixtures on demand, each once. */
export class Fixtures {
  private readonly made = new Map<string, Promise<string>>();
  constructor(readonly dir: string) {}

  need = (name: string): Promise<string> => {
    if (name in SYSTEM_PATHS) return Promise.resolve(SYSTEM_PATHS[name]!);
    const builder = BUILDERS[name];
    if (builder === undefined) throw new Error(`bad-input: no fixture "${name}"`);
    let made = this.made.get(name);
    if (made === undefined) {
      const file = path.join(this.dir, name);
      made = Promise.resolve(builder(file, this.dir, this.need)).then(() => file);
      this.made.set(name, made);
    }
    return made;
  };
}
