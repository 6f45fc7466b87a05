/** The GuestOS images the boot and tree tests read, built by Bazel (test/support/env-build.ts). */
import { buildEnv } from '../support/env-build.ts';

export interface GuestOsImages {
  disk: string;
  root: string;
  boot: string;
  /** The dm-verity root hash of `root`, hex and a newline. */
  rootHash: string;
  /** The container's root tree, which the images were made from. */
  rootfsTar: string;
  /** The signed GRUB EFI loader on the ESP. */
  loader: string;
  /** Bazel's output of this name (e.g. one asked for by `outputs`). */
  output(name: string): string;
}

/** `outputs`: further outputs built with the images (e.g. update-img-test.tar.zst). */
export async function guestOsImages(env: 'prod' | 'dev' | 'dev-malicious', outputs: readonly string[] = []): Promise<GuestOsImages> {
  const build = await buildEnv({ os: 'guestos', env, outputs });
  return {
    disk: build.images['disk.img']!,
    root: build.images['root.img']!,
    boot: build.images['boot.img']!,
    rootHash: build.output('partition-root-hash'),
    rootfsTar: build.output('rootfs-tree.tar'),
    loader: build.output('grub-loader.efi'),
    output: build.output,
  };
}
