import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CommandRunner, Logger } from '../definitions.ts';
import { ExecaCommandRunner } from '../infra/execa-command-runner.ts';
import { REPO_ROOT } from '../lib/repo-root.ts';
import { useTempDir } from '../../../test/support/tools.ts';
import { SLOT_WAIT_MS, takeVmSlot } from '../../../test/support/vm-slot.ts';
import { makeArtifact } from './kind.ts';
import { efiTimestamp, enrolmentQemuArgs, LOADER_CONF, ovmfVarsKind, ownerGuid } from './ovmf-vars.ts';

// The boot that proves the store works is test/secure-boot/vars.test.ts; here: the options, the
// failures, and that two builds give the same bytes (cmp) holding each certificate (openssl's DER).
const runner = new ExecaCommandRunner();
const quiet: Logger = { info() {}, verbose() {}, warn() {} };
const deps = { runner, log: quiet };
const { at } = useTempDir('ovmf-vars');
const TEST_KEYS = { dir: path.join(REPO_ROOT, 'keys/test-keys'), external: false, malicious: false };

/** The real tools, except that the QEMU boot only writes `console` to its serial file and exits `status`. */
function fakeQemu(status: number, console: string): { runner: CommandRunner; seen: string[] } {
  const seen: string[] = [];
  const fake: CommandRunner = {
    async run(tool, args, options) {
      seen.push(tool);
      if (tool !== 'timeout') return runner.run(tool, args, options);
      const serial = args.find((arg) => arg.startsWith('file:'))!.slice('file:'.length);
      await writeFile(serial, console);
      return { stdout: '', stderr: '', exitCode: status };
    },
    stream: (tool, args, options) => runner.stream(tool, args, options),
    interactive: (tool, args, options) => runner.interactive(tool, args, options),
  };
  return { runner: fake, seen };
}

describe('ovmf-vars: pure parts', () => {
  it('writes the update time of SOURCE_DATE_EPOCH as sign-efi-sig-list reads it (UTC)', () => {
    expect(efiTimestamp(0)).toBe('1970-01-01 00:00:00');
    expect(efiTimestamp(1_700_000_000)).toBe('2023-11-14 22:13:20');
  });

  it('derives the owner GUID from the certificates: the same for the same keys, another for others', () => {
    const guid = ownerGuid([Buffer.from('pk'), Buffer.from('kek'), Buffer.from('db')]);
    expect(guid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ownerGuid([Buffer.from('pk'), Buffer.from('kek'), Buffer.from('db')])).toBe(guid);
    expect(ownerGuid([Buffer.from('pk'), Buffer.from('kek'), Buffer.from('db2')])).not.toBe(guid);
  });

  it('boots the enroller once: Secure Boot machine, TCG, one vCPU, no reboot; enrols without asking', () => {
    const args = enrolmentQemuArgs({ code: '/fw/CODE.fd' }, '/o/VARS.fd', '/s/enrol.img', '/s/serial.log');
    expect(args.join(' ')).toContain('-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on');
    expect(args.join(' ')).toContain('if=pflash,format=raw,unit=1,file=/o/VARS.fd');
    expect(args).toEqual(expect.arrayContaining(['-no-reboot', 'tcg', 'file:/s/serial.log']));
    expect(args[args.indexOf('-smp') + 1]).toBe('1');
    expect(LOADER_CONF).toContain('secure-boot-enroll force\n');
  });
});

describe('ovmf-vars: refusals, before any boot', () => {
  it('refuses external (prod) keys: only the test keys are enrolled in a store', async () => {
    const keys = { dir: '/secret/keys', external: true, malicious: false };
    await expect(makeArtifact(ovmfVarsKind, { keys }, at('prod.fd'), deps)).rejects.toThrow(
      'ovmf-vars: keys: external (prod) keys: an enrolled OVMF variable store is made only from the test keys',
    );
  });

  it('names a missing firmware file and its option', async () => {
    const options = { keys: TEST_KEYS, template: at('none.fd') };
    await expect(makeArtifact(ovmfVarsKind, options, at('t.fd'), deps)).rejects.toThrow(`option "template" "${at('none.fd')}"`);
  });

  it('names a missing key file (the key-source contract) and leaves no output', async () => {
    const keys = { ...TEST_KEYS, dir: at('') };
    await expect(makeArtifact(ovmfVarsKind, { artifact: 'vars.fd', keys }, at('k.fd'), deps)).rejects.toThrow(
      `vars.fd: ${path.join(at(''), 'pk.crt')}: missing or unreadable: the test keys must hold pk.crt (keys/README.md)`,
    );
    await expect(stat(at('k.fd'))).rejects.toThrow('ENOENT');
  });
});

describe('ovmf-vars: the enrolling boot', () => {
  it('gives the same bytes twice, from a read-only template too, holding PK, KEK and db', async () => {
    await copyFile('/usr/share/OVMF/OVMF_VARS_4M.fd', at('template.fd'));
    await chmod(at('template.fd'), 0o444); // as a Bazel output is: the store written must not inherit it
    const release = await takeVmSlot(); // the builds boot QEMU: one VM at a time on this machine
    try {
      await makeArtifact(ovmfVarsKind, { keys: TEST_KEYS, template: at('template.fd') }, at('first.fd'), deps);
      await makeArtifact(ovmfVarsKind, { keys: TEST_KEYS }, at('second.fd'), deps);
    } finally {
      release();
    }
    expect(spawnSync('cmp', [at('first.fd'), at('second.fd')]).status).toBe(0);
    expect(spawnSync('cmp', ['-s', '/usr/share/OVMF/OVMF_VARS_4M.fd', at('first.fd')]).status).toBe(1);
    const store = await readFile(at('first.fd'));
    for (const name of ['pk', 'kek', 'db']) {
      const der = execFileSync('openssl', ['x509', '-in', path.join(TEST_KEYS.dir, `${name}.crt`), '-outform', 'DER']);
      expect(store.includes(der), `${name}.crt in the store`).toBe(true);
    }
  }, SLOT_WAIT_MS + 600_000);

  it('names each key the firmware did not enrol, and writes nothing', async () => {
    // A boot that ends (a reset) without writing the store: QEMU faked, everything else real.
    const { runner: fake, seen } = fakeQemu(0, 'Enrolling secure boot keys from directory: \\loader\\keys\\auto\r\nFailed to write PK secure boot variable: Security Violation\r\n');
    const failure = makeArtifact(ovmfVarsKind, { artifact: 'half.fd', keys: TEST_KEYS }, at('half.fd'), { runner: fake, log: quiet });
    await expect(failure).rejects.toThrow("half.fd: the firmware did not enrol PK, KEK, db; the console's last lines:\nEnrolling secure boot keys from directory: \\loader\\keys\\auto\nFailed to write PK secure boot variable: Security Violation");
    expect(seen).toEqual(['cert-to-efi-sig-list', 'sign-efi-sig-list', 'cert-to-efi-sig-list', 'sign-efi-sig-list', 'cert-to-efi-sig-list', 'sign-efi-sig-list', 'mkfs.vfat', 'mmd', 'mcopy', 'mcopy', 'mcopy', 'timeout']);
    await expect(stat(at('half.fd'))).rejects.toThrow('ENOENT');
  });

  it('quotes the console when the boot does not end in time (timeout(1) says 124), escape sequences removed', async () => {
    const { runner: fake } = fakeQemu(124, '\x1b[2J\x1b[01;01HBdsDxe: No bootable option or device was found.\r\n');
    const options = { artifact: 'hung.fd', keys: TEST_KEYS, timeoutSeconds: 7 };
    await expect(makeArtifact(ovmfVarsKind, options, at('hung.fd'), { runner: fake, log: quiet })).rejects.toThrow(
      "hung.fd: the enrolling boot did not end within 7 s; the console's last lines:\nBdsDxe: No bootable option or device was found.",
    );
    await expect(stat(at('hung.fd'))).rejects.toThrow('ENOENT');
  });
});
