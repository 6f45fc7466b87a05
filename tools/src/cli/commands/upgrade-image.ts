import { makeArtifact } from '../../kinds/kind.ts';
import { compressionForPath } from '../../kinds/sparse-tar.ts';
import { upgradeImageKind } from '../../kinds/upgrade-image.ts';
import { checkReplaceable } from '../../lib/atomic-output.ts';
import { defineCommand } from '../command.ts';

/** `icos upgrade-image`: update-img.tar.zst with MANIFEST.TXT and its signature, boot.img, root.img and VERSION.TXT. */
export const upgradeImageCommand = defineCommand({
  command: 'upgrade-image',
  describe: 'Make an IC-OS upgrade image: a sparse tar of MANIFEST.TXT, its minisign signature, boot.img, root.img and VERSION.TXT',
  builder: (yargs) =>
    yargs
      .option('os', { type: 'string', demandOption: true, describe: 'The OS the images are of, named in MANIFEST.TXT (nodes refuse another OS\'s image)' })
      .option('boot', { type: 'string', demandOption: true, describe: 'Boot partition image, stored as boot.img' })
      .option('root', { type: 'string', demandOption: true, describe: 'Root partition image, stored as root.img' })
      .option('version', {
        type: 'string',
        demandOption: true,
        describe: 'Version file (one line: git commit, <commit>-test or a label), stored as VERSION.TXT',
      })
      .option('key', {
        type: 'string',
        demandOption: true,
        describe: 'Ed25519 private key, PKCS#8 PEM (release.key of keys/README.md): signs MANIFEST.TXT (MANIFEST.TXT.minisig)',
      })
      .option('out', { type: 'string', demandOption: true, describe: 'Archive to write: .tar.zst, .tzst or .tar' }),
  async run(args, deps) {
    // What the path is (a FIFO, /dev/null) before what its name asks for.
    await checkReplaceable(args.out);
    const compression = compressionForPath(args.out);
    const image = await makeArtifact(
      upgradeImageKind,
      { os: args.os, boot: args.boot, root: args.root, version: args.version, keyFile: args.key, compression },
      args.out,
      deps,
    );
    deps.log.info(`wrote ${args.out} (version ${image.version})`);
  },
});
