/**
 * What the GuestOS and HostOS VM tests of A/B upgrades share: the image they install, the tool
 * in the guest, and shell steps on the guest's grub partition and slots (serial console).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { REPO_ROOT } from '../../tools/src/lib/repo-root.ts';
import { parsePrivateKey, publicKeyFile } from '../../tools/src/signing/minisign.ts';
import type { SerialVm } from './serial-vm.ts';
import { tool, toolStatus } from './tools.ts';

/** The -test version of a dev env (bazel/private/build_macro.bzl): what the upgrade installs. */
export const UPGRADE_IMAGE = 'update-img-test.tar.zst';
export const MANAGEBOOT = '/opt/ic/bin/manageboot.sh';
/** manageboot.sh's install reads and hashes gigabytes: minutes under TCG. */
export const INSTALL_TIMEOUT = 20 * 60_000;
const COMMAND_TIMEOUT = 3 * 60_000;

/** VERSION.TXT of an upgrade image, read on this machine with zstd and tar. */
export function versionOf(upgradeImage: string): string {
  return tool('sh', ['-c', `zstd -dcq "${upgradeImage}" | tar -xO VERSION.TXT`]).trim();
}

/**
 * grubenv's boot variables ("boot_alternative=B boot_cycle=stable"), read with grub-editenv on
 * the grub partition (mounted read-only for that) once boot has finished: confirm-boot.service,
 * which runs late, must have had its turn.
 */
export async function readGrubenv(vm: SerialVm, grubPartuuid: string): Promise<string> {
  const mount = `mkdir -p /run/g && mount -o ro /dev/disk/by-partuuid/${grubPartuuid} /run/g`;
  return (await vm.run(`systemctl is-system-running --wait >/dev/null; ${mount} && grub-editenv /run/g/grubenv list | grep ^boot_ | xargs; umount /run/g`, COMMAND_TIMEOUT)).trim();
}

/**
 * Leaves `slot` as upgrade-commit would (boot_alternative=slot, boot_cycle=first_boot) after
 * inverting one byte of its root's ext4 superblock: a slot that changed after its install was
 * verified, which GRUB must abandon once it fails.
 */
export async function commitCorruptedSlot(vm: SerialVm, grubPartuuid: string, slot: 'A' | 'B', rootDevice: string): Promise<void> {
  const offset = 1040;
  await vm.run(`b=$(dd if=${rootDevice} bs=1 skip=${offset} count=1 status=none | od -An -tu1 | tr -d ' '); printf "\\\\$(printf %o $((b ^ 255)))" | dd of=${rootDevice} bs=1 seek=${offset} conv=notrunc,fsync status=none`);
  await vm.run(`mkdir -p /run/g && mount /dev/disk/by-partuuid/${grubPartuuid} /run/g && grub-editenv /run/g/grubenv set boot_alternative=${slot} boot_cycle=first_boot; umount /run/g`);
}

/**
 * The upgrade key the node's manageboot.sh trusts (manageboot.conf's UPGRADE_KEY) is the dev
 * release key's public half, and Debian's minisign accepts the upgrade image's signed manifest
 * with it: the install that follows checks a real signature, not a missing one.
 */
async function expectNodeTrustsSigner(vm: SerialVm, upgradeImage: string): Promise<void> {
  const nodeKey = (await vm.run('. /opt/ic/share/manageboot.conf && cat "$UPGRADE_KEY"')).replace(/\r/g, '').trim();
  const releaseKey = path.join(REPO_ROOT, 'keys/test-keys/release.key');
  expect(nodeKey).toBe(publicKeyFile(parsePrivateKey(readFileSync(releaseKey), releaseKey)).trim());
  const dir = mkdtempSync(path.join(tmpdir(), 'icos-test-upgrade-key-'));
  try {
    writeFileSync(path.join(dir, 'node.pub'), `${nodeKey}\n`);
    tool('sh', ['-c', `zstd -dcq "${upgradeImage}" | tar -x -C "${dir}" --occurrence=1 MANIFEST.TXT MANIFEST.TXT.minisig`]);
    const minisign = toolStatus('minisign', ['-Vm', path.join(dir, 'MANIFEST.TXT'), '-x', path.join(dir, 'MANIFEST.TXT.minisig'), '-p', path.join(dir, 'node.pub')]);
    expect(minisign.status, minisign.stderr).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `upgrade-install` of the -test image from the medium (SerialVm's `medium`, mounted here)
 * in slot A and checks that it installed `version` of `os` into slot B, verified. `upgradeImage`
 * is the medium's image on this machine.
 */
export async function installFromMedium(vm: SerialVm, os: string, version: string, label: string, upgradeImage: string): Promise<void> {
  await expectNodeTrustsSigner(vm, upgradeImage);
  await vm.run('mkdir -p /run/medium && mount -o ro /dev/disk/by-id/virtio-medium /run/medium');
  const started = Date.now();
  const output = await vm.run(`${MANAGEBOOT} upgrade-install /run/medium/${UPGRADE_IMAGE} 2>&1; echo "status=$?"`, INSTALL_TIMEOUT);
  console.log(`${label} (TCG): upgrade-install took ${Math.round((Date.now() - started) / 1000)} s`);
  expect(output).toContain(`manageboot: installing ${os} ${version} into slot B (running: slot A)`);
  expect(output).toContain(`manageboot: slot B holds ${os} ${version}, verified`);
  expect(output.trim()).toMatch(/status=0$/);
}
