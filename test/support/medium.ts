/**
 * A read-only medium for `icos launch --medium` (SerialVm's `medium`): an ext4 image holding one
 * file under its own name, from which a guest installs it after mounting
 * /dev/disk/by-id/virtio-medium. The GuestOS and HostOS upgrade tests carry their -test upgrade
 * image on it.
 */
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { tool } from './tools.ts';

export function makeMedium(file: string, dir: string): string {
  const tree = path.join(dir, 'medium');
  mkdirSync(tree, { recursive: true });
  copyFileSync(file, path.join(tree, path.basename(file)));
  const image = path.join(dir, 'medium.img');
  // Room for the file plus ext4's metadata (no journal: the guest mounts it read-only).
  const mib = Math.ceil((statSync(file).size * 1.1) / 2 ** 20) + 32;
  tool('mke2fs', ['-q', '-F', '-t', 'ext4', '-O', '^has_journal', '-E', 'root_owner=0:0', '-d', tree, image, `${mib}M`]);
  rmSync(tree, { recursive: true });
  return image;
}
