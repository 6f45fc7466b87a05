/**
 * One difference between two artifacts, and the collector that keeps the first ones. A place is
 * the chain of names that leads to it (member, partition, LV, file path); `what` names the field
 * or the byte range; `a` and `b` are the two values when the difference has them.
 */
export interface Difference {
  place: string[];
  what: string;
  a?: string;
  b?: string;
}

/** Collects differences up to `max`; past it only counts that there were more, so layers can stop early. */
export class DiffReport {
  readonly differences: Difference[] = [];
  /** Set once a difference had to be dropped: the search stops and the output says so. */
  truncated = false;

  constructor(readonly max: number) {}

  get full(): boolean {
    return this.differences.length >= this.max;
  }

  /** True once the report is full, marking it as cut short: a loop with more to compare stops here. */
  stopHere(): boolean {
    if (this.full) this.truncated = true;
    return this.full;
  }

  add(difference: Difference): void {
    if (this.full) this.truncated = true;
    else this.differences.push(difference);
  }

  /** Adds `place: what a ≠ b` when the two values differ. */
  field(place: string[], what: string, a: string | number | undefined, b: string | number | undefined): void {
    if (a === b) return;
    this.add({ place, what, a: shown(a), b: shown(b) });
  }
}

function shown(value: string | number | undefined): string {
  return value === undefined ? '(none)' : String(value);
}

/** `A_root: /etc/foo: mtime 0 ≠ 1700000000`, one line per difference. */
export function formatDifference(difference: Difference): string {
  const where = difference.place.length === 0 ? '' : `${difference.place.join(': ')}: `;
  const values = difference.a === undefined && difference.b === undefined ? '' : ` ${difference.a ?? '(none)'} ≠ ${difference.b ?? '(none)'}`;
  return `${where}${difference.what}${values}`;
}

/** What `icos diff` prints: nothing when identical, else the differences and a note when more were left unsearched. */
export function formatText(report: DiffReport): string {
  const lines = report.differences.map(formatDifference);
  if (report.truncated) lines.push(`(stopped after the first ${report.max} differences: --max raises the limit)`);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The `--json` form: `{ identical, truncated, differences: [{ place, what, a?, b?, text }] }`. */
export function formatJson(report: DiffReport): string {
  const differences = report.differences.map((difference) => ({ ...difference, text: formatDifference(difference) }));
  return `${JSON.stringify({ identical: differences.length === 0, truncated: report.truncated, differences }, null, 2)}\n`;
}
