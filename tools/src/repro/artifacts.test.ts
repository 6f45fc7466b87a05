import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.ts';
import { formatTable, isSame, pairArtifacts, parseBuildEvents } from './artifacts.ts';

const uri = (name: string, config = 'k8-fastbuild') => `file:///ob/execroot/ws/bazel-out/${config}/bin/${name}`;
const file = (name: string, config = 'k8-fastbuild') => ({ name, uri: uri(name, config), pathPrefix: ['bazel-out', config, 'bin'] });
const events = [
  { id: { namedSet: { id: '0' } }, namedSetOfFiles: { files: [file('pkg/a.txt')] } },
  { id: { namedSet: { id: '1' } }, namedSetOfFiles: { files: [file('pkg/b.txt'), file('tool', 'k8-opt-exec')], fileSets: [{ id: '0' }] } },
  { id: { namedSet: { id: '2' } }, namedSetOfFiles: { files: [file('tool')] } },
  { id: { namedSet: { id: '9' } }, namedSetOfFiles: { files: [file('pkg/never-completed.txt')] } },
  { id: { targetCompleted: { label: '//pkg:b' } }, completed: { success: true, outputGroup: [{ name: 'default', fileSets: [{ id: '1' }] }] } },
  { id: { targetCompleted: { label: '//pkg:tool' } }, completed: { success: true, outputGroup: [{ name: 'default', fileSets: [{ id: '2' }] }] } },
  { id: { progress: {} }, progress: { stderr: 'noise' } },
].map((event) => JSON.stringify(event));

describe('build events', () => {
  it("lists the files of every completed target's output groups, nested sets included, once each", () => {
    const artifacts = parseBuildEvents(events.join('\n') + '\n', 'bep.json');
    expect(artifacts.map((artifact) => artifact.name)).toEqual([
      'bazel-out/k8-fastbuild/bin/tool',
      'bazel-out/k8-opt-exec/bin/tool',
      'pkg/a.txt',
      'pkg/b.txt',
    ]);
    expect(artifacts.find((artifact) => artifact.name === 'pkg/a.txt')!.path).toBe('/ob/execroot/ws/bazel-out/k8-fastbuild/bin/pkg/a.txt');
  });

  it('names the line of a broken event and a set that is never listed', () => {
    expect(() => parseBuildEvents(`${events[0]}\n{"id": `, 'bep.json')).toThrow(/^bep\.json:2: not JSON/);
    const orphan = JSON.stringify({ id: { targetCompleted: { label: '//x:y' } }, completed: { success: true, outputGroup: [{ fileSets: [{ id: '7' }] }] } });
    expect(() => parseBuildEvents(orphan, 'bep.json')).toThrow(UserError);
  });
});

describe('comparison table', () => {
  const digest = (sha256: string, size = 3) => ({ sha256, size, path: `/x/${sha256}` });
  const rows = pairArtifacts(
    new Map([['same.txt', digest('aa')], ['differs.txt', digest('bb')], ['only-a.txt', digest('cc')]]),
    new Map([['same.txt', digest('aa')], ['differs.txt', digest('dd', 4)], ['only-b.txt', digest('ee')]]),
  );

  it('pairs by name: equal bytes are the same, other bytes or a missing side differ', () => {
    expect(rows.map((row) => [row.name, isSame(row)])).toEqual([
      ['differs.txt', false],
      ['only-a.txt', false],
      ['only-b.txt', false],
      ['same.txt', true],
    ]);
  });

  it('shows "same" for B when identical, else both digests, sizes that differ, and what was not built', () => {
    const lines = formatTable(rows).trimEnd().split('\n');
    expect(lines[0]).toMatch(/^artifact\s+size\s+sha256 A\s+sha256 B$/);
    expect(lines.find((line) => line.startsWith('same.txt'))).toMatch(/^same\.txt\s+3\s+aa\s+same$/);
    expect(lines.find((line) => line.startsWith('differs.txt'))).toMatch(/^differs\.txt\s+3 ≠ 4\s+bb\s+dd$/);
    expect(lines.find((line) => line.startsWith('only-a.txt'))).toMatch(/cc\s+\(not built\)$/);
    expect(lines.find((line) => line.startsWith('only-b.txt'))).toMatch(/\(not built\)\s+ee$/);
  });
});
