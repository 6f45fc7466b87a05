/**
 * prod vs dev and dev vs dev-malicious: the root trees of the built images (read back with
 * debugfs) may differ only where envs/guestos/tree-differences.conf says so.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type GuestOsImages, guestOsImages } from './images.ts';
import { REPO } from '../support/env-build.ts';
import { useTempDir } from '../support/tools.ts';
import { diffTrees, filesOfPackages, installedPackages, readAllowedDifferences, readImageTree, type Tree } from './trees.ts';

const DECLARATIONS = path.join(REPO, 'envs/guestos/tree-differences.conf');

/** The differences between two envs that the declarations do not allow. */
function undeclared(envA: string, a: { tree: Tree; build: GuestOsImages }, envB: string, b: { tree: Tree; build: GuestOsImages }): string[] {
  const section = readAllowedDifferences(DECLARATIONS).get(`${envA} ${envB}`);
  if (section === undefined) throw new Error(`${DECLARATIONS}: no [${envA} ${envB}] section`);
  let packageFiles = new Set<string>();
  if (section.packageRule) {
    const inA = installedPackages(a.build.rootfsTar);
    const onlyInB = [...installedPackages(b.build.rootfsTar)].filter((pkg) => !inA.has(pkg));
    packageFiles = filesOfPackages(b.build.rootfsTar, onlyInB);
  }
  return diffTrees(a.tree, b.tree).filter((p) => !packageFiles.has(p) && !section.globs.some((glob) => glob.test(p)));
}

describe('GuestOS env trees differ only where declared', () => {
  const temp = useTempDir('guestos-trees');
  const envs: Record<string, { tree: Tree; build: GuestOsImages }> = {};

  beforeAll(async () => {
    for (const env of ['prod', 'dev', 'dev-malicious'] as const) {
      const build = await guestOsImages(env);
      envs[env] = { build, tree: await readImageTree(build.root, build.boot, temp.at(env)) };
    }
  }, 3_600_000);

  it('reads full trees back from the images', () => {
    for (const env of ['prod', 'dev', 'dev-malicious']) {
      expect(envs[env]!.tree.get('/opt/ic/bin/replica')).toMatch(/^file 755 0:0 /);
      // The VSOCK client (components/guestos/vsock), late-injected like the IC binaries.
      expect(envs[env]!.tree.get('/opt/ic/bin/vsock_guest')).toMatch(/^file 755 0:0 /);
      expect(envs[env]!.tree.get('/boot/vmlinuz')).toMatch(/^symlink /);
      expect(envs[env]!.tree.size).toBeGreaterThan(10_000);
    }
  });

  it('prod and dev differ only in declared paths and dev-only packages', () => {
    expect(undeclared('prod', envs.prod!, 'dev', envs.dev!)).toEqual([]);
    // The declared differences are real ones: the dev root password and console.
    expect(diffTrees(envs.prod!.tree, envs.dev!.tree)).toEqual(expect.arrayContaining(['/etc/shadow', '/etc/systemd/system/getty.target']));
  });

  it('dev and dev-malicious differ only in the replica binary (and so the root hash and its signature)', () => {
    expect(undeclared('dev', envs.dev!, 'dev-malicious', envs['dev-malicious']!)).toEqual([]);
    expect(diffTrees(envs.dev!.tree, envs['dev-malicious']!.tree)).toEqual(['/boot/boot_args', '/boot/boot_args.sig', '/opt/ic/bin/replica']);
  });
});
