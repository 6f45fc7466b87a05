import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.ts';
import { lookupContext, parseFileContexts, projectFileContexts } from './file-contexts.ts';

const POLICY = `# comment

/.*                       system_u:object_r:default_t:s0
/                  -d     system_u:object_r:root_t:s0
/etc(/.*)?                system_u:object_r:etc_t:s0
/etc/shadow.*      --     system_u:object_r:shadow_t:s0
/etc/passwd               system_u:object_r:passwd_t:s0
/etc/.*\\.conf             system_u:object_r:conf_t:s0
/etc/[a-z]+\\.conf         system_u:object_r:later_conf_t:s0
/dev/null          -c     system_u:object_r:null_device_t:s0
/tmp/.*                   <<none>>
/run/.*            -s     system_u:object_r:socket_t:s0
/boot              -d     system_u:object_r:boot_t:s0
/boot/.*                  system_u:object_r:boot_t:s0
/boot/grub(/.*)?          system_u:object_r:grub_t:s0
/bootstrap(/.*)?          system_u:object_r:bootstrap_t:s0
`;

describe('lookupContext', () => {
  const contexts = parseFileContexts(POLICY, 'file_contexts');
  const cases: Array<[string, Parameters<typeof lookupContext>[2], string | undefined]> = [
    ['/', 'directory', 'system_u:object_r:root_t:s0'],
    ['/', 'file', 'system_u:object_r:default_t:s0'],
    ['/etc', 'directory', 'system_u:object_r:etc_t:s0'],
    ['/etc/shadow', 'file', 'system_u:object_r:shadow_t:s0'],
    ['/etc/shadow-', 'symlink', 'system_u:object_r:etc_t:s0'],
    ['/etc/shadow', 'hardlink', 'system_u:object_r:shadow_t:s0'],
    // An exact path beats every regex, even one written after it.
    ['/etc/passwd', 'file', 'system_u:object_r:passwd_t:s0'],
    // Among regexes the last match wins.
    ['/etc/ld.conf', 'file', 'system_u:object_r:later_conf_t:s0'],
    ['/etc/ld-2.conf', 'file', 'system_u:object_r:conf_t:s0'],
    ['/dev/null', 'char-device', 'system_u:object_r:null_device_t:s0'],
    ['/dev/null', 'file', 'system_u:object_r:default_t:s0'],
    ['/tmp/x', 'file', undefined],
    ['/tmp', 'directory', 'system_u:object_r:default_t:s0'],
    ['/etc\n', 'directory', 'system_u:object_r:default_t:s0'],
  ];
  it.each(cases)('%j (%s) -> %s', (imagePath, type, expected) => {
    expect(lookupContext(contexts, imagePath, type)).toBe(expected);
  });
});

describe('projectFileContexts', () => {
  const boot = projectFileContexts(parseFileContexts(POLICY, 'file_contexts'), '/boot');
  it('keeps only rules under the prefix, with the prefix removed', () => {
    expect(boot.rules.map((rule) => rule.source).sort()).toEqual(['', '/.*', '/grub(/.*)?']);
  });
  it('labels the image root with the prefix directory rule', () => {
    expect(lookupContext(boot, '/', 'directory')).toBe('system_u:object_r:boot_t:s0');
    expect(lookupContext(boot, '/vmlinuz', 'file')).toBe('system_u:object_r:boot_t:s0');
    expect(lookupContext(boot, '/grub', 'directory')).toBe('system_u:object_r:grub_t:s0');
    expect(lookupContext(boot, '/etc/passwd', 'file')).toBe('system_u:object_r:boot_t:s0');
  });
  it('is the identity for /', () => {
    const all = parseFileContexts(POLICY, 'file_contexts');
    expect(projectFileContexts(all, '/')).toBe(all);
  });
});

describe('parseFileContexts errors', () => {
  it('reports every bad line with file and line number', () => {
    const text = '/ok system_u:object_r:x:s0\n/a -x ctx\n/b( ctx\n/c d e f\n/d\n';
    let error: unknown;
    try {
      parseFileContexts(text, 'fc');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toBe(
      [
        '4 problems found:',
        '  fc:2: file type "-x": expected one of -- -d -l -c -b -p -s',
        '  fc:3: regex "/b(": not a valid regular expression',
        '  fc:4: "/c d e f": expected "regex [-type] context"',
        '  fc:5: "/d": expected "regex [-type] context"',
      ].join('\n'),
    );
  });
});
