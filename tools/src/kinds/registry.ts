import type { ArtifactKind } from './kind.ts';
import { gptDiskKind } from './gpt-disk.ts';
import { sparseTarKind } from './sparse-tar.ts';
import { upgradeImageKind } from './upgrade-image.ts';
import { lvmKind } from './lvm.ts';
import { verityKind } from './verity.ts';
import { ext4Kind } from './ext4.ts';
import { ext4InjectKind } from './ext4-inject.ts';
import { vfatKind } from './vfat.ts';
import { configImageKind } from './config-image.ts';
import { grubLoaderKind } from './grub-loader.ts';
import { grubSignedKind } from './grub-signed.ts';
import { ovmfVarsKind } from './ovmf-vars.ts';
import { releaseSignatureKind } from './release-signature.ts';
import { minisignPublicKeyKind } from './minisign-public-key.ts';

/**
 * Every artifact kind icos can make, listed explicitly: adding a kind means one module under
 * `kinds/`, one entry here, and one test beside the module.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const KINDS: Record<string, ArtifactKind<any, any>> = {
  gpt: gptDiskKind,
  'sparse-tar': sparseTarKind,
  'upgrade-image': upgradeImageKind,
  lvm: lvmKind,
  verity: verityKind,
  ext4: ext4Kind,
  'ext4-inject': ext4InjectKind,
  vfat: vfatKind,
  'config-image': configImageKind,
  'grub-loader': grubLoaderKind,
  'grub-signed': grubSignedKind,
  'ovmf-vars': ovmfVarsKind,
  'release-signature': releaseSignatureKind,
  'minisign-public-key': minisignPublicKeyKind,
};
