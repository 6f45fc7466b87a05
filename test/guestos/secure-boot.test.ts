/**
 * The signed boot chain of the GuestOS dev image under OVMF's Secure Boot firmware with the test
 * keys enrolled (the untouched image boots to login in boot.test.ts). Each case changes one thing
 * on a copy of the disk and boots until the console shows the refusal, which must come from the
 * firmware or GRUB, before any kernel runs. Byte offsets come from the partition table (layout
 * facts) and from debugfs reading the boot filesystem, never from our own readers.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveLayout } from '../../tools/src/os/layout.ts';
import { bootUntil, enrolledVars, foreignSigner, REFUSED, signEfi } from '../support/secure-boot.ts';
import { useTempDir } from '../support/tools.ts';
import { SLOT_WAIT_MS } from '../support/vm-slot.ts';
import { type GuestOsImages, guestOsImages } from './images.ts';
import { overlayWithFlippedByte } from './vm-fixtures.ts';

const CASE_TIMEOUT = 120_000;
const temp = useTempDir('guestos-secure-boot');
const MTOOLS = { env: { ...process.env, MTOOLSRC: '/dev/null', MTOOLS_SKIP_CHECK: '1' } };
/** Anything the kernel prints first: none of it may appear. */
const KERNEL_RAN = /Linux version|EFI stub/;
/** GRUB refusing for any other reason (memory, a missing file) would prove nothing. */
const OTHER_ERROR = /error: (?!bad signature)/;

let build: GuestOsImages;
let vars: string;
let facts: Record<string, string>;
const partitionOffset = (name: string) => Number(facts[`partitions.${name}.start`]) * 512;

/** The disk offset of byte `at` of `file` in the A_boot filesystem (debugfs: its first block). */
function bootFileOffset(file: string, at: number): number {
  const blockSize = Number(/Block size:\s+(\d+)/.exec(execFileSync('dumpe2fs', ['-h', build.boot], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))![1]);
  const target = execFileSync('debugfs', ['-R', `stat ${file}`, build.boot], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const resolved = /Fast link dest: "(.*)"/.exec(target)?.[1];
  const blocks = execFileSync('debugfs', ['-R', `blocks /${resolved ?? file.slice(1)}`, build.boot], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const first = Number(blocks.trim().split(/\s+/)[0]);
  expect(first).toBeGreaterThan(0);
  return partitionOffset('A_boot') + first * blockSize + at;
}

/** A sparse copy of the disk whose FAT partition `name` has `file` replaced by `source` (mtools). */
function diskWithFatFile(name: string, file: string, source: string, copy: string): string {
  execFileSync('cp', ['--sparse=always', build.disk, copy]);
  execFileSync('mcopy', ['-o', '-i', `${copy}@@${partitionOffset(name)}`, source, `::${file}`], MTOOLS);
  return copy;
}

async function refusal(disk: string, pattern: RegExp): Promise<string> {
  // GRUB holds the kernel and the initrd in memory while it checks them.
  const run = await bootUntil(disk, vars, [pattern], CASE_TIMEOUT, '2G');
  console.log(`GuestOS Secure Boot refusal (TCG): ${run.seconds} s`);
  expect(run.console).toMatch(pattern);
  expect(run.console).not.toMatch(KERNEL_RAN);
  expect(run.console).not.toMatch(OTHER_ERROR);
  return run.console;
}

beforeAll(async () => {
  build = await guestOsImages('dev');
  vars = await enrolledVars();
  facts = (await resolveLayout('guestos')).facts;
}, 3_600_000);

describe('GuestOS dev under Secure Boot', () => {
  it('the firmware refuses a loader signed by a key that is not enrolled', async () => {
    const loader = path.join(temp.dir, 'unsigned.efi');
    copyFileSync(build.loader, loader);
    execFileSync('sbattach', ['--remove', loader]);
    const foreign = await signEfi(loader, path.join(temp.dir, 'foreign.efi'), await foreignSigner(temp.dir));
    await refusal(diskWithFatFile('esp', '/EFI/Boot/bootx64.efi', foreign, temp.at('foreign-loader.img')), REFUSED);
  }, SLOT_WAIT_MS + CASE_TIMEOUT + 60_000);

  it('GRUB refuses a kernel with one byte changed, and stops', async () => {
    const console = await refusal(overlayWithFlippedByte(build.disk, bootFileOffset('/vmlinuz', 4096), temp.dir), /vmlinuz was refused: stopping/);
    expect(console).toMatch(/error: bad signature/);
  }, SLOT_WAIT_MS + CASE_TIMEOUT);

  it('GRUB refuses an initrd with one byte changed, and stops', async () => {
    const console = await refusal(overlayWithFlippedByte(build.disk, bootFileOffset('/initrd.img', 4096), temp.dir), /initrd\.img was refused: stopping/);
    expect(console).toMatch(/error: bad signature/);
  }, SLOT_WAIT_MS + CASE_TIMEOUT);

  it('GRUB refuses a kernel command line with one byte changed (boot_args, which names the root hash), and stops', async () => {
    const console = await refusal(overlayWithFlippedByte(build.disk, bootFileOffset('/boot_args', 300), temp.dir), /boot_args was refused: stopping/);
    expect(console).toMatch(/error: bad signature/);
  }, SLOT_WAIT_MS + CASE_TIMEOUT);

  it('GRUB refuses a changed grub.cfg, and stops without a GRUB shell', async () => {
    const cfg = temp.at('grub.cfg');
    execFileSync('mcopy', ['-i', `${build.disk}@@${partitionOffset('grub')}`, '::/grub.cfg', cfg], MTOOLS);
    await writeFile(cfg, '# one more line\n', { flag: 'a' });
    const console = await refusal(diskWithFatFile('grub', '/grub.cfg', cfg, temp.at('grub-cfg.img')), /GRUB: stopping: .*grub\.cfg was refused/);
    expect(console).toMatch(/error: bad signature/);
    expect(console).not.toMatch(/grub> |grub rescue>/);
  }, SLOT_WAIT_MS + CASE_TIMEOUT + 60_000);
});
