import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Test fixture: a root filesystem made with shell tools (as root) and archived with GNU tar, so
 * the expectations below come from the fixture description, not from our tar reader.
 */

/** Runs a tool and fails the test with its stderr when it fails. */
export function sh(command: string, args: readonly string[], options: { cwd?: string; input?: string } = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', cwd: options.cwd, input: options.input });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

export interface FixtureFile {
  path: string;
  content: string;
  mode: number;
  uid: number;
  gid: number;
}

/** Regular files of the fixture (paths inside the image). */
export const FIXTURE_FILES: readonly FixtureFile[] = [
  { path: '/etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n', mode: 0o644, uid: 0, gid: 0 },
  { path: '/etc/shadow', content: 'root:*:19000:0:99999:7:::\n', mode: 0o640, uid: 0, gid: 42 },
  { path: '/etc/file with spaces.txt', content: 'spaces\n', mode: 0o644, uid: 0, gid: 0 },
  { path: '/etc/say "hi".txt', content: 'quotes\n', mode: 0o644, uid: 0, gid: 0 },
  { path: '/usr/bin/sudo', content: '#!/bin/sh\necho sudo\n', mode: 0o4755, uid: 0, gid: 0 },
  { path: '/home/user/notes.txt', content: 'private\n', mode: 0o600, uid: 1000, gid: 1000 },
  { path: '/opt/app/data/state', content: 'x'.repeat(70000), mode: 0o2640, uid: 12345, gid: 54321 },
  { path: '/run/lock/stale', content: 'pid\n', mode: 0o644, uid: 0, gid: 0 },
  { path: '/tmp/junk.txt', content: 'junk\n', mode: 0o644, uid: 0, gid: 0 },
  { path: '/boot/vmlinuz', content: 'kernel image\n', mode: 0o644, uid: 0, gid: 0 },
  { path: '/boot/grub/grub.cfg', content: 'set timeout=0\n', mode: 0o644, uid: 0, gid: 0 },
  { path: '/boot/efi/EFI/BOOT/BOOTX64.EFI', content: 'MZ efi loader\n', mode: 0o755, uid: 0, gid: 0 },
  { path: '/boot/efi/EFI/BOOT/grub.cfg', content: 'configfile /grub.cfg\n', mode: 0o644, uid: 0, gid: 0 },
  { path: '/boot/efi/Long Name With Spaces.txt', content: 'long\n', mode: 0o644, uid: 0, gid: 0 },
];

/** Directories with non-default owners or modes. */
export const FIXTURE_DIRS = [
  { path: '/home/user', mode: 0o700, uid: 1000, gid: 1000 },
  { path: '/opt/app/data', mode: 0o751, uid: 12345, gid: 54321 },
  { path: '/tmp', mode: 0o1777, uid: 0, gid: 0 },
];

/** Creates the fixture tree under `dir`. */
export async function makeFixtureTree(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const file of FIXTURE_FILES) {
    const target = path.join(dir, file.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.content);
    sh('chown', [`${file.uid}:${file.gid}`, target]);
    sh('chmod', [file.mode.toString(8), target]);
  }
  for (const d of FIXTURE_DIRS) {
    sh('chown', [`${d.uid}:${d.gid}`, path.join(dir, d.path)]);
    sh('chmod', [d.mode.toString(8), path.join(dir, d.path)]);
  }
  sh('ln', ['-s', 'usr/bin', path.join(dir, 'bin')]);
  sh('ln', ['-s', '/etc/passwd', path.join(dir, 'etc/passwd.link')]);
  sh('ln', [path.join(dir, 'usr/bin/sudo'), path.join(dir, 'usr/bin/sudoedit')]);
  await mkdir(path.join(dir, 'dev'));
  sh('mknod', ['-m', '666', path.join(dir, 'dev/null'), 'c', '1', '3']);
  sh('mknod', ['-m', '600', path.join(dir, 'dev/initctl'), 'p']);
  sh('setfattr', ['-n', 'user.test', '-v', 'hello', path.join(dir, 'etc/passwd')]);
  // A value that is not UTF-8, like security.capability blobs.
  sh('setfattr', ['-n', 'user.bin', '-v', '0xff00fe80', path.join(dir, 'etc/passwd')]);
}

/** Archives `dir` with GNU tar, numeric owners, xattrs. */
export function tarTree(dir: string, tarPath: string): void {
  sh('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '-cf', tarPath, '-C', dir, '.']);
}

/** A minimal SELinux file_contexts for the fixture. */
export const FILE_CONTEXTS = `# test policy
/.*                       system_u:object_r:default_t:s0
/                  -d     system_u:object_r:root_t:s0
/etc(/.*)?                system_u:object_r:etc_t:s0
/etc/shadow        --     system_u:object_r:shadow_t:s0
/usr/bin(/.*)?            system_u:object_r:bin_t:s0
/dev/null          -c     system_u:object_r:null_device_t:s0
/tmp/.*                   <<none>>
/boot              -d     system_u:object_r:boot_t:s0
/boot/.*                  system_u:object_r:boot_t:s0
/boot/grub(/.*)?          system_u:object_r:grub_t:s0
`;
