import path from 'node:path';
import type { CommandRunner } from '../definitions.ts';
import { UserError } from '../errors.ts';
import { withScratchDir } from '../lib/atomic-output.ts';
import { statRegularFile } from '../lib/input-file.ts';
import { compareArchives } from './archive.ts';
import type { DiffContext } from './context.ts';
import { detectFormat, type Format } from './detect.ts';
import { compareExt4 } from './ext4.ts';
import { compareFat } from './fat.ts';
import { compareGpt } from './gpt.ts';
import { compareLvm } from './lvm.ts';
import { describeRange, differingRanges, sameBytes, type Region } from './region.ts';
import { DiffReport } from './report.ts';
import { compareVerity } from './verity.ts';

/**
 * `icos diff`: compares two artifacts layer by layer. Each region is first compared as bytes
 * (holes skipped); only regions that differ are interpreted (archive, GPT, LVM, ext4, FAT,
 * verity), and a layer that finds no difference it can name leaves the byte ranges as the answer,
 * so a difference is never hidden by a layer that does not look at every byte.
 */

function describeFormat(format: Format): string {
  return format.kind === 'verity' ? `${format.data === 'ext4' ? 'ext4 + ' : ''}dm-verity` : format.kind;
}

export async function diffArtifacts(aPath: string, bPath: string, options: { max: number; runner: CommandRunner }): Promise<DiffReport> {
  const [statA, statB] = [await statRegularFile(aPath, `diff: "${aPath}"`), await statRegularFile(bPath, `diff: "${bPath}"`)];
  const report = new DiffReport(options.max);
  const a: Region = { file: aPath, offset: 0, size: statA.size };
  const b: Region = { file: bPath, offset: 0, size: statB.size };
  // One file under two names (or the same name twice) is identical without reading it.
  if ((statA.dev === statB.dev && statA.ino === statB.ino) || (await sameBytes(a, b))) return report;
  await withScratchDir('diff', async (scratchDir) => {
    let count = 0;
    const context: DiffContext = {
      runner: options.runner,
      report,
      scratchDir,
      scratchPath: (label) => path.join(scratchDir, `${count++}-${label.replace(/[^\w.-]/g, '_')}`),
      compareRegion: (place, regionA, regionB, regionOptions) => compareRegion(context, place, regionA, regionB, regionOptions?.wholeFile ?? false),
      async compareBytes(place, regionA, regionB, byteOptions = {}) {
        if (report.full) return report.add({ place, what: 'bytes' });
        for (const range of await differingRanges(regionA, regionB, { limit: report.max - report.differences.length + 1, excluded: byteOptions.excluded })) {
          report.add({ place, what: byteOptions.what === undefined ? describeRange(range) : `${byteOptions.what} ${describeRange(range)}` });
        }
      },
    };
    // Places start with the artifacts' file name when both have the same one (two builds of one artifact).
    const top = path.basename(aPath) === path.basename(bPath) ? [path.basename(aPath)] : [];
    await compareRegion(context, top, a, b, true);
  });
  return report;
}

async function compareRegion(context: DiffContext, place: string[], a: Region, b: Region, wholeFile: boolean): Promise<void> {
  const { report } = context;
  if (report.full) {
    if (!(await sameBytes(a, b))) report.add({ place, what: 'differs' });
    return;
  }
  if (await sameBytes(a, b)) return;
  const [formatA, formatB] = [await detectFormat(a, wholeFile), await detectFormat(b, wholeFile)];
  // An archive's size says nothing its members do not say better.
  if (formatA.kind !== 'zstd' && formatA.kind !== 'tar') report.field(place, 'size', a.size, b.size);
  if (formatA.kind !== formatB.kind) {
    report.field(place, 'format', describeFormat(formatA), describeFormat(formatB));
    return;
  }
  const before = report.differences.length;
  const layer = LAYERS[formatA.kind];
  if (layer !== undefined) await layer(context, place, a, b, formatA, formatB);
  // The layer named nothing, yet the bytes differ: the byte ranges are the answer.
  if (report.differences.length === before && !report.truncated) await context.compareBytes(place, a, b);
}

type Layer = (context: DiffContext, place: string[], a: Region, b: Region, formatA: Format, formatB: Format) => Promise<void>;

const LAYERS: Partial<Record<Format['kind'], Layer>> = {
  zstd: (context, place, a, b) => compareArchives(context, place, a, b),
  tar: (context, place, a, b) => compareArchives(context, place, a, b),
  gpt: (context, place, a, b) => compareGpt(context, place, a, b),
  lvm: (context, place, a, b) => compareLvm(context, place, a, b),
  ext4: (context, place, a, b) => compareExt4(context, place, a, b),
  fat: (context, place, a, b) => compareFat(context, place, a, b),
  verity: (context, place, a, b, formatA, formatB) => {
    if (formatA.kind !== 'verity' || formatB.kind !== 'verity') throw new UserError('diff: verity layer given another format');
    return compareVerity(context, place, { region: a, hashOffset: formatA.hashOffset }, { region: b, hashOffset: formatB.hashOffset });
  },
};
