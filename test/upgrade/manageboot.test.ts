/**
 * components/upgrade/manageboot.sh on this machine, with regular files standing in for the slots'
 * devices: what it writes is read back with cmp, veritysetup and grub-editenv, and every grubenv it
 * leaves is byte for byte what tools/src/upgrade/grubenv.ts says (commitUpgrade, confirmBoot).
 * The same script runs in the GuestOS and HostOS dev VMs (test/{guestos,hostos}/boot.test.ts, "A/B upgrade").
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../tools/src/lib/repo-root.ts';
import { resolveLayout } from '../../tools/src/os/layout.ts';
import { renderLayoutFacts } from '../../tools/src/os/layout-facts.ts';
import { VERSION_PATTERN } from '../../tools/src/kinds/upgrade-image.ts';
import { parsePrivateKey, publicKeyFile } from '../../tools/src/signing/minisign.ts';
import { commitUpgrade, confirmBoot, formatGrubenv, grubBoot, parseGrubenv, withVariables } from '../../tools/src/upgrade/grubenv.ts';
import { runIcos, sha256sum, tool, toolStatus, useTempDir } from '../support/tools.ts';
import { compileVerityCheck } from '../support/verity-check.ts';

const MiB = 1024 * 1024;
const SCRIPT = path.join(REPO_ROOT, 'components/upgrade/manageboot.sh');
const INITIAL_GRUBENV = path.join(REPO_ROOT, 'components/bootloader/grubenv');
// The root image: an ext4 of ROOT_DATA bytes, its hash tree at HASH_OFFSET, ROOT_IMAGE bytes in all.
const ROOT_DATA = 24 * MiB;
const HASH_OFFSET = 26 * MiB;
const ROOT_IMAGE = 30 * MiB;
const SLOT_BYTES = { boot: 8 * MiB, root: 32 * MiB, var: 20 * MiB };
const SALT = 'ab'.repeat(32);
const RELEASE_KEY = path.join(REPO_ROOT, 'keys/test-keys/release.key');
const MEMBERS = ['MANIFEST.TXT', 'MANIFEST.TXT.minisig', 'boot.img', 'root.img', 'VERSION.TXT'];
const temp = useTempDir('manageboot');
const at = temp.at;

/** A slot "device": a regular file of the slot's size full of 0xee, so stale bytes show. */
function slotFile(name: string, bytes: number): string {
  writeFileSync(at(name), Buffer.alloc(bytes, 0xee));
  return at(name);
}

/**
 * A root image with its verity tree, and a boot image (ext4) whose boot_args name the root hash
 * for both slots. `corruptRoot` flips a data byte after the tree was made: the hash no longer fits.
 */
function images(label: string, corruptRoot = false): { boot: string; root: string } {
  const tree = at(`${label}-root-tree`);
  tool('mkdir', ['-p', `${tree}/opt/ic/share`]);
  writeFileSync(`${tree}/opt/ic/share/version.txt`, `${label}\n`);
  const root = at(`${label}-root.img`);
  tool('mke2fs', ['-q', '-F', '-t', 'ext4', '-E', 'root_owner=0:0', '-d', tree, root, `${ROOT_DATA / 1024}k`]);
  tool('truncate', ['-s', String(ROOT_IMAGE), root]);
  const format = tool('veritysetup', ['format', root, root, `--hash-offset=${HASH_OFFSET}`, `--data-blocks=${ROOT_DATA / 4096}`, `--salt=${SALT}`]);
  const hash = /Root hash:\s+([0-9a-f]{64})/.exec(format)![1]!;
  if (corruptRoot) tool('sh', ['-c', `printf '\\377' | dd of=${root} bs=1 seek=${2 * MiB + 17} conv=notrunc status=none`]);
  const bootTree = at(`${label}-boot-tree`);
  tool('mkdir', ['-p', bootTree]);
  writeFileSync(`${bootTree}/boot_args`, ['A', 'B'].map((s) => `BOOT_ARGS_${s}="root=x ro dfinity.system=${s} root_hash=${hash}"\n`).join(''));
  const boot = at(`${label}-boot.img`);
  tool('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', bootTree, boot, `${SLOT_BYTES.boot / 1024 / 2}k`]);
  return { boot, root };
}

function upgradeImage(label: string, os: string, parts: { boot: string; root: string }, key = RELEASE_KEY): string {
  writeFileSync(at(`${label}-version.txt`), `${label}\n`);
  const out = at(`${label}.tar.zst`);
  const result = runIcos(['upgrade-image', '--os', os, '--boot', parts.boot, '--root', parts.root, '--version', at(`${label}-version.txt`), '--key', key, '--out', out]);
  if (result.status !== 0) throw new Error(result.stderr);
  return out;
}

/** The good image's members in a folder of their own (GNU tar), to be changed and packed again. */
function unpacked(label: string): string {
  const dir = at(`${label}-members`);
  tool('mkdir', ['-p', dir]);
  tool('sh', ['-c', `zstd -dcq "${goodImage}" | tar -xS -C "${dir}"`]);
  return dir;
}

/** Packs members of `dir` in the order given with GNU tar and zstd, not with icos. */
function packed(label: string, dir: string, members: string[]): string {
  const out = at(`${label}.tar.zst`);
  tool('sh', ['-c', `tar -cS --format=gnu --numeric-owner -C "${dir}" ${members.join(' ')} | zstd -qf -o "${out}"`]);
  return out;
}

/** Debian's minisign on a manifest and its signature: the independent verdict on what manageboot.sh checks. */
function minisignAccepts(dir: string): boolean {
  return toolStatus('minisign', ['-Vm', path.join(dir, 'MANIFEST.TXT'), '-x', path.join(dir, 'MANIFEST.TXT.minisig'), '-p', upgradeKey]).status === 0;
}

let good: { boot: string; root: string };
let goodImage: string;
let conf: string;
let upgradeKey: string;
const devices: Record<string, string> = {};

function manageboot(args: string[], slot: 'A' | 'B' = 'A'): { status: number; stdout: string; stderr: string } {
  writeFileSync(at('cmdline'), `root=x ro dfinity.system=${slot} root_hash=0\n`);
  return toolStatus('bash', [SCRIPT, ...args], { env: { MANAGEBOOT_CONF: conf } });
}

function grubenv(): Buffer {
  return readFileSync(at('grubenv'));
}

function setGrubenv(variables: Record<string, string>): void {
  writeFileSync(at('grubenv'), formatGrubenv(withVariables(parseGrubenv(readFileSync(INITIAL_GRUBENV), 'grubenv'), variables)));
}

function slotHashes(): string[] {
  return ['A_boot', 'A_root', 'A_var', 'B_boot', 'B_root', 'B_var'].map((name) => sha256sum(devices[name]!));
}

beforeAll(() => {
  good = images('v2-test');
  goodImage = upgradeImage('v2-test', 'guestos', good);
  conf = at('manageboot.conf');
  // The node's key: what the minisign-public-key kind installs (checked against OpenSSL beside it).
  upgradeKey = at('upgrade.pub');
  writeFileSync(upgradeKey, publicKeyFile(parsePrivateKey(readFileSync(RELEASE_KEY), RELEASE_KEY)));
  const lines = ['OS=guestos', `UPGRADE_KEY=${upgradeKey}`, `HASH_OFFSET=${HASH_OFFSET}`, `GRUBENV_FILE=${at('grubenv')}`, `CMDLINE=${at('cmdline')}`, `STATE_DIR=${at('state')}`, `VERITY_CHECK=${compileVerityCheck(at('verity_check'))}`];
  for (const slot of ['A', 'B']) {
    for (const [part, bytes] of Object.entries(SLOT_BYTES)) {
      devices[`${slot}_${part}`] = slotFile(`${slot}_${part}`, bytes);
      lines.push(`SLOT_${slot}_${part.toUpperCase()}=${devices[`${slot}_${part}`]}`);
    }
  }
  writeFileSync(conf, `${lines.join('\n')}\n`);
}, 120_000);

beforeEach(() => {
  copyFileSync(INITIAL_GRUBENV, at('grubenv'));
  tool('rm', ['-rf', at('state')]);
  for (const name of Object.keys(devices)) writeFileSync(devices[name]!, Buffer.alloc(SLOT_BYTES[name.slice(2) as keyof typeof SLOT_BYTES], 0xee));
});

describe('manageboot.sh', () => {
  it("checks a manifest's version with the expression the upgrade-image kind writes it by", () => {
    expect(readFileSync(SCRIPT, 'utf8')).toContain(`[[ "$version" =~ ${VERSION_PATTERN.source} ]]`);
  });

  it('names the running slot and the target from the kernel command line', () => {
    expect(manageboot(['current'], 'A').stdout).toBe('A\n');
    expect(manageboot(['target'], 'A').stdout).toBe('B\n');
    expect(manageboot(['target'], 'B').stdout).toBe('A\n');
  });

  it('installs into the other slot, verified; commit and confirm leave what grubenv.ts says', () => {
    setGrubenv({ boot_alternative: 'A', boot_cycle: 'stable' });
    const before = slotHashes();
    expect(minisignAccepts(unpacked('good'))).toBe(true);
    const install = manageboot(['upgrade-install', goodImage]);
    expect(install.stderr).toBe('');
    expect(install.stdout).toMatch(/installing guestos v2-test into slot B \(running: slot A\)\n.*slot B holds guestos v2-test, verified/s);
    expect(install.status).toBe(0);
    // Slot A untouched; B holds the images, holes zeroed over the old 0xee bytes; B's var head zeroed.
    expect(slotHashes().slice(0, 3)).toEqual(before.slice(0, 3));
    tool('cmp', ['-n', String(SLOT_BYTES.boot), good.boot, devices.B_boot!]);
    tool('cmp', ['-n', String(ROOT_IMAGE), good.root, devices.B_root!]);
    expect(toolStatus('cmp', ['-n', String(16 * MiB), devices.B_var!, '/dev/zero']).status).toBe(0);
    expect(readFileSync(devices.B_var!).subarray(16 * MiB).equals(Buffer.alloc(4 * MiB, 0xee))).toBe(true);

    const stable = parseGrubenv(grubenv(), 'grubenv');
    expect(manageboot(['upgrade-commit', '--no-reboot']).status).toBe(0);
    expect(grubenv()).toEqual(formatGrubenv(commitUpgrade(stable, 'A', 'grubenv')));
    expect(tool('grub-editenv', [at('grubenv'), 'list'])).toContain('boot_alternative=B\nboot_cycle=first_boot\n');

    // GRUB's step (the model's, checked against GRUB in the VM tests), then slot B's boot confirms.
    const grub = grubBoot(parseGrubenv(grubenv(), 'grubenv'));
    writeFileSync(at('grubenv'), formatGrubenv(grub.env));
    expect(grub).toMatchObject({ slot: 'B', cycle: 'failsafe_check' });
    const confirm = manageboot(['confirm'], 'B');
    expect(confirm.stdout).toBe('manageboot: slot B confirmed (boot_cycle failsafe_check -> stable)\n');
    expect(grubenv()).toEqual(formatGrubenv(confirmBoot(grub.env, 'B')!));
    expect(manageboot(['confirm'], 'B').stdout).toBe('manageboot: slot B is already confirmed (stable)\n');
  });

  it('confirm keeps a committed upgrade pending and repairs an unknown boot_cycle', () => {
    setGrubenv({ boot_alternative: 'B', boot_cycle: 'first_boot' });
    const pending = grubenv();
    expect(manageboot(['confirm'], 'A').stdout).toBe('manageboot: grubenv boots slot B next (first_boot): slot A is not confirmed\n');
    expect(grubenv()).toEqual(pending);
    setGrubenv({ boot_alternative: 'A', boot_cycle: 'bogus' });
    const unknown = parseGrubenv(grubenv(), 'grubenv');
    expect(manageboot(['confirm'], 'A').status).toBe(0);
    expect(grubenv()).toEqual(formatGrubenv(confirmBoot(unknown, 'A')!));
  });

  const refusals: Array<[string, () => string, RegExp]> = [
    ['an image of another OS', () => upgradeImage('hostos-image', 'hostos', good), /an upgrade image of hostos, not of guestos: refused/],
    ['a truncated image', () => {
      const cut = at('truncated.tar.zst');
      copyFileSync(goodImage, cut);
      tool('truncate', ['-s', String(Math.floor(readFileSync(goodImage).length * 0.6)), cut]);
      return cut;
    }, /truncated\.tar\.zst: not a complete upgrade image \(truncated or damaged\)/],
    ['an unsigned image (no MANIFEST.TXT.minisig)', () => packed('unsigned', unpacked('unsigned'), MEMBERS.filter((m) => !m.endsWith('.minisig'))),
      /unsigned\.tar\.zst: no MANIFEST\.TXT\.minisig: an unsigned upgrade image: refused/],
    ['an image signed with another key', () => {
      tool('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', at('foreign.key')]);
      return upgradeImage('foreign', 'guestos', good, at('foreign.key'));
    }, /foreign\.tar\.zst: signed by key [0-9A-F]{16}, not by this node's upgrade key [0-9A-F]{16} \(.*upgrade\.pub\): refused/],
    ['a manifest changed after signing (another version)', () => {
      const dir = unpacked('changed-manifest');
      const manifest = path.join(dir, 'MANIFEST.TXT');
      writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('version=v2-test', 'version=v9'));
      expect(minisignAccepts(dir)).toBe(false);
      return packed('changed-manifest', dir, MEMBERS);
    }, /changed-manifest\.tar\.zst: MANIFEST\.TXT does not match its signature by key [0-9A-F]{16} \(changed since signing\): refused/],
    ["a signature whose trusted comment was changed", () => {
      const dir = unpacked('changed-comment');
      const signature = path.join(dir, 'MANIFEST.TXT.minisig');
      writeFileSync(signature, readFileSync(signature, 'utf8').replace('trusted comment: icos upgrade image', 'trusted comment: icos upgrade imagE'));
      expect(minisignAccepts(dir)).toBe(false);
      return packed('changed-comment', dir, MEMBERS);
    }, /changed-comment\.tar\.zst: MANIFEST\.TXT\.minisig: the trusted comment was changed since signing: refused/],
    ['a file that is no upgrade image', () => {
      writeFileSync(at('noise.tar.zst'), Buffer.alloc(4096, 7));
      return at('noise.tar.zst');
    }, /noise\.tar\.zst: no MANIFEST\.TXT at its head: not an icos upgrade image/],
  ];

  it.each(refusals)('refuses %s before it writes a byte of either slot', (_, make, message) => {
    setGrubenv({ boot_alternative: 'A', boot_cycle: 'stable' });
    const image = make();
    const before = slotHashes();
    const result = manageboot(['upgrade-install', image]);
    expect(result.stderr).toMatch(message);
    expect(result.status).toBe(1);
    expect(slotHashes()).toEqual(before);
    expect(manageboot(['upgrade-commit', '--no-reboot']).stderr).toMatch(/no verified upgrade-install of slot B in this boot: nothing to commit/);
  });

  it.each([
    ['names no upgrade key', (lines: string) => lines.replace(/^UPGRADE_KEY=.*\n/m, ''), /manageboot\.conf: no UPGRADE_KEY: this node cannot check an upgrade image's signature/],
    ['names a missing upgrade key', (lines: string) => lines.replace(/^UPGRADE_KEY=.*$/m, `UPGRADE_KEY=${at('missing.pub')}`), /missing\.pub: no upgrade key: this node cannot check/],
  ])('refuses every image while manageboot.conf %s', (_, edit, message) => {
    setGrubenv({ boot_alternative: 'A', boot_cycle: 'stable' });
    const good = readFileSync(conf, 'utf8');
    writeFileSync(conf, edit(good));
    try {
      const before = slotHashes();
      const result = manageboot(['upgrade-install', goodImage]);
      expect(result.stderr).toMatch(message);
      expect(result.status).toBe(1);
      expect(slotHashes()).toEqual(before);
    } finally {
      writeFileSync(conf, good);
    }
  });

  it('refuses to install while the running slot is unconfirmed (its other slot is the fallback)', () => {
    setGrubenv({ boot_alternative: 'B', boot_cycle: 'failsafe_check' });
    const before = slotHashes();
    const result = manageboot(['upgrade-install', goodImage], 'B');
    expect(result.stderr).toMatch(/boot_alternative=B boot_cycle=failsafe_check while slot B runs: an upgrade needs the running slot confirmed/);
    expect(result.status).toBe(1);
    expect(slotHashes()).toEqual(before);
  });

  it('writes a root that fails its verity root hash, says so, and commits nothing', () => {
    setGrubenv({ boot_alternative: 'A', boot_cycle: 'stable' });
    const corrupt = upgradeImage('corrupt', 'guestos', images('corrupt', true));
    const stable = grubenv();
    const result = manageboot(['upgrade-install', corrupt]);
    expect(result.stderr).toMatch(/slot B: root \(.*B_root\) does not match the root hash ([0-9a-f]{64}) of the new boot_args \(verity_check failed\): not committed/);
    expect(result.status).toBe(1);
    // veritysetup's verdict on what was written is the same.
    const rootHash = /root hash ([0-9a-f]{64})/.exec(result.stderr)![1]!;
    expect(toolStatus('veritysetup', ['verify', devices.B_root!, devices.B_root!, rootHash, `--hash-offset=${HASH_OFFSET}`]).status).not.toBe(0);
    expect(manageboot(['upgrade-commit', '--no-reboot']).status).toBe(1);
    expect(grubenv()).toEqual(stable);
  });
});

describe('manageboot.conf of each OS', () => {
  it.each(['guestos', 'hostos'])('%s: every slot device is a partition or volume of its tables', async (os) => {
    const layout = await resolveLayout(os);
    const text = renderLayoutFacts(readFileSync(path.join(REPO_ROOT, `components/${os}/upgrade/manageboot.conf`), 'utf8'), layout.facts, os, []);
    const values = Object.fromEntries(text.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split('=', 2) as [string, string]));
    expect(values.OS).toBe(os);
    expect(values.HASH_OFFSET).toBe(layout.facts['root.verity.hashOffset']);
    // Where icos_build installs the release key's public half (the VM tests read it there).
    expect(values.UPGRADE_KEY).toBe(layout.upgradeKeyPath);
    expect(layout.upgradeKeyPath).toMatch(/^\/opt\/ic\//);
    for (const slot of ['A', 'B']) {
      for (const part of ['boot', 'root', 'var']) {
        const name = `${slot}_${part}`;
        const device = values[`SLOT_${slot}_${part.toUpperCase()}`];
        const partuuid = layout.facts[`partitions.${name}.uuid`];
        const expected = partuuid !== undefined ? `/dev/disk/by-partuuid/${partuuid}` : `/dev/${layout.facts['vg.name']}/${name}`;
        if (partuuid === undefined) expect(layout.facts[`volumes.${name}.uuid`]).toBeDefined();
        expect(device).toBe(expected);
      }
    }
    expect(values.GRUB_DEVICE).toBe(`/dev/disk/by-partuuid/${layout.facts['partitions.grub.uuid']}`);
  });
});

describe("grub.cfg's A/B decision", () => {
  /** From grubenv's load to the slot choice: the part of grub.cfg that reads and writes the states. */
  function decision(file: string, os: string): string {
    const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
    const start = text.indexOf('# grubenv is rewritten at every boot');
    const end = text.indexOf('if [ "$boot_alternative" = "A" ]; then\n    set boot=');
    expect(start, `${file}: no grubenv load`).toBeGreaterThan(0);
    expect(end, `${file}: no slot choice`).toBeGreaterThan(start);
    return text.slice(start, end).replaceAll(`${os}: `, 'OS: ');
  }

  it('is the same in GuestOS and HostOS: the GuestOS VM test, which falls back from a failed slot, covers both', () => {
    const guestos = decision('components/bootloader/grub.cfg', 'GuestOS');
    expect(guestos).toContain('never confirmed its first boot (failsafe_check): falling back');
    expect(decision('components/hostos/bootloader/grub.cfg', 'HostOS')).toBe(guestos);
  });
});
