import type { CommandRunner } from '../definitions.ts';
import type { Extent } from '../lib/sparse-map.ts';
import type { Region } from './region.ts';
import type { DiffReport } from './report.ts';

/** What every layer gets: the tool runner, the report, a scratch directory and the way down. */
export interface DiffContext {
  runner: CommandRunner;
  report: DiffReport;
  /** Removed when the diff ends; layers make their own subdirectories (`scratchPath`). */
  scratchDir: string;
  /** A fresh path under the scratch directory. */
  scratchPath(label: string): string;
  /** Compares two regions by what they hold, reporting under `place`. */
  compareRegion(place: string[], a: Region, b: Region, options?: { wholeFile?: boolean }): Promise<void>;
  /** Reports the byte ranges (4 KiB blocks) where the regions differ, outside `excluded`. */
  compareBytes(place: string[], a: Region, b: Region, options?: { excluded?: readonly Extent[]; what?: string }): Promise<void>;
}
