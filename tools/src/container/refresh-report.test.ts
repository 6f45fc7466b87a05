import { describe, expect, it } from 'vitest';
import type { BaseBuildResult } from './base-build.ts';
import { basePinFile, parseDigestReference, UPSTREAM } from './base-pins.ts';
import { refreshReportPins, type UpstreamRefresh } from './base-refresh.ts';
import { diffPackages, parseManifest } from './package-manifest.ts';
import { formatRefreshMarkdown, type PinReport } from './refresh-report.ts';

// Two package manifests as `icos base build` keeps them (build/base-images/<digest>.packages).
const BEFORE = `base-files 12.4+deb12u5
libc6 2.36-9+deb12u4
libfoo1 1.0~rc1-1
oldpkg 0.9-2
zstd 1.5.4+dfsg2-5
`;
const AFTER = `base-files 12.4+deb12u6
libc6 2.36-9+deb12u4
libfoo1 1.0-1
newpkg 3.1|beta-1
zstd 1.5.4+dfsg2-4
`;

const digest = (hex: string): string => `sha256:${hex.repeat(64)}`;
const pinned = (repository: string, hex: string) => parseDigestReference(`${repository}@${digest(hex)}`)!;

describe('formatRefreshMarkdown', () => {
  it('lists pin changes and package differences of two manifests, grouped per OS and env', () => {
    const upstream: UpstreamRefresh = { pinFile: UPSTREAM.pinFile, before: pinned('up', 'a'), after: pinned('up', 'a'), packageChanges: [] };
    const changedBase: BaseBuildResult = {
      os: 'guestos',
      env: 'dev',
      pinFile: basePinFile('guestos', 'dev'),
      before: pinned('guestos-base-dev', 'b'),
      after: pinned('guestos-base-dev', 'c'),
      packageChanges: diffPackages(parseManifest(BEFORE), parseManifest(AFTER)),
    };
    const sameBase: BaseBuildResult = {
      os: 'guestos',
      env: 'prod',
      pinFile: basePinFile('guestos', 'prod'),
      before: pinned('guestos-base', 'd'),
      after: pinned('guestos-base', 'd'),
      packageChanges: [],
    };
    expect(formatRefreshMarkdown(refreshReportPins(upstream, [sameBase, changedBase]))).toBe(
      [
        'Base refresh: 1 of 3 pins changed; packages: 2 upgraded, 1 downgraded, 1 added, 1 removed.',
        '',
        '## upstream root (Debian bookworm)',
        '',
        `- \`envs/upstream/docker-base.bookworm\`: unchanged (\`${digest('a')}\`)`,
        '',
        '## guestos / prod',
        '',
        `- \`envs/guestos/context/docker-base.prod\`: unchanged (\`${digest('d')}\`)`,
        '',
        '## guestos / dev',
        '',
        `- \`envs/guestos/context/docker-base.dev\`: \`${digest('b')}\` -> \`${digest('c')}\``,
        '',
        '| Package | Change | Before | After |',
        '| --- | --- | --- | --- |',
        '| `base-files` | upgraded | `12.4+deb12u5` | `12.4+deb12u6` |',
        '| `libfoo1` | upgraded | `1.0~rc1-1` | `1.0-1` |',
        '| `newpkg` | added |  | `3.1\\|beta-1` |',
        '| `oldpkg` | removed | `0.9-2` |  |',
        '| `zstd` | downgraded | `1.5.4+dfsg2-5` | `1.5.4+dfsg2-4` |',
        '',
      ].join('\n'),
    );
  });

  it('says when nothing changed, when a package list is unknown and when a pin is new', () => {
    const pins: PinReport[] = [
      { group: 'a / dev', pinFile: 'a.pin', after: digest('1'), packages: undefined },
      { group: 'b / dev', pinFile: 'b.pin', before: digest('2'), after: digest('3'), packages: [] },
    ];
    const text = formatRefreshMarkdown(pins);
    expect(text.split('\n')[0]).toBe('Base refresh: 2 of 2 pins changed; no package changed; package list unknown for 1.');
    expect(text).toContain(`- \`a.pin\`: (none) -> \`${digest('1')}\`\n\nPackage changes unknown: the previous image's package list is not available here.\n`);
    expect(text).toContain(`- \`b.pin\`: \`${digest('2')}\` -> \`${digest('3')}\`\n\nNo package changed.\n`);
    expect(formatRefreshMarkdown([{ group: 'a', pinFile: 'a.pin', before: digest('1'), after: digest('1') }]).split('\n')[0]).toBe(
      'Base refresh: no pin changed (1 checked).',
    );
  });

  it('keeps Markdown punctuation literal: longer code fences around backticks, escaped headings', () => {
    const text = formatRefreshMarkdown([
      {
        group: 'x_y*z',
        pinFile: 'p',
        before: digest('1'),
        after: digest('2'),
        packages: [{ kind: 'upgraded', name: 'odd', from: '1`2', to: '`3' }],
      },
    ]);
    expect(text).toContain('## x\\_y\\*z\n');
    expect(text).toContain('| `odd` | upgraded | ``1`2`` | `` `3 `` |\n');
  });
});
