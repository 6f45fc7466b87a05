/** Inputs of the GuestOS boot tests: a config device, and a copy-on-write disk with one byte flipped. */
import { execFileSync } from 'node:child_process';
import { openSync, readSync, closeSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runIcos } from '../support/tools.ts';

export const MAC = '52:54:00:12:34:56';
export const HOSTNAME = 'replica-525400123456';

/** A config device with an ic-bootstrap.tar (admin SSH key, crypto and registry stand-ins) and static IPv4. */
export function makeConfigImage(dir: string): string {
  const tree = path.join(dir, 'bootstrap');
  for (const sub of ['accounts_ssh_authorized_keys', 'ic_crypto', 'ic_registry_local_store']) mkdirSync(path.join(tree, sub), { recursive: true });
  writeFileSync(path.join(tree, 'accounts_ssh_authorized_keys/admin'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEtest0000000000000000000000000000000000000000 admin@test\n');
  writeFileSync(path.join(tree, 'ic_crypto/node-key'), 'crypto-material-from-bootstrap\n');
  writeFileSync(path.join(tree, 'ic_registry_local_store/0000000000000001'), 'registry\n');
  const tar = path.join(dir, 'ic-bootstrap.tar');
  execFileSync('tar', ['--sort=name', '--numeric-owner', '--owner=0', '--group=0', '--mtime=@0', '-C', tree, '-cf', tar, '.']);
  const image = path.join(dir, 'config.img');
  const result = runIcos(['config-image', '--out', image, '--bootstrap', tar, '--ipv4-address', '10.0.2.15/24', '--ipv4-gateway', '10.0.2.2',
    '--dns', '10.0.2.3', '--mgmt-mac', MAC]);
  if (result.status !== 0) throw new Error(`icos config-image failed: ${result.stderr}`);
  return image;
}

/**
 * A qcow2 overlay of `disk` in which one byte at `offset` is inverted (written with qemu-io),
 * so the built disk.img itself stays untouched.
 */
export function overlayWithFlippedByte(disk: string, offset: number, dir: string): string {
  const overlay = path.join(dir, 'flipped.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', disk, overlay]);
  const byte = Buffer.alloc(1);
  const fd = openSync(disk, 'r');
  try {
    readSync(fd, byte, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
  const flipped = (byte[0]! ^ 0xff).toString(16).padStart(2, '0');
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -P 0x${flipped} ${offset} 1`, overlay], { stdio: 'ignore' });
  return overlay;
}
