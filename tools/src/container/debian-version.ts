/**
 * The order of Debian package versions (`[epoch:]upstream[-revision]`, Debian Policy 5.6.12), so
 * a refresh can tell an upgrade from a downgrade. Negative when `a` sorts before `b`, zero when
 * they are equal in dpkg's eyes (`1.0` and `0:1.0`, `1.01` and `1.1`), positive otherwise.
 */
export function compareDebianVersions(a: string, b: string): number {
  const left = splitVersion(a);
  const right = splitVersion(b);
  return Math.sign(left.epoch - right.epoch || compareParts(left.upstream, right.upstream) || compareParts(left.revision, right.revision));
}

function splitVersion(version: string): { epoch: number; upstream: string; revision: string } {
  const colon = version.indexOf(':');
  const epoch = colon < 0 ? 0 : Number(version.slice(0, colon)) || 0;
  const rest = version.slice(colon + 1);
  // The revision follows the last hyphen; the upstream part may contain hyphens of its own.
  const dash = rest.lastIndexOf('-');
  return dash < 0 ? { epoch, upstream: rest, revision: '' } : { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
}

const isDigit = (char: string | undefined): boolean => char !== undefined && char >= '0' && char <= '9';

/** Weight of one character in a non-digit run: `~` before the end, the end before letters, letters before the rest. */
function weight(char: string | undefined): number {
  if (char === undefined || isDigit(char)) return 0;
  if (char === '~') return -1;
  if (/[A-Za-z]/.test(char)) return char.charCodeAt(0);
  return char.charCodeAt(0) + 256;
}

/** Alternating non-digit runs (by weight) and digit runs (as numbers, of any length). */
function compareParts(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const difference = weight(a[i]) - weight(b[j]);
      if (difference !== 0) return difference;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let firstDifference = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (firstDifference === 0) firstDifference = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    // The longer run of significant digits is the larger number.
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDifference !== 0) return firstDifference;
  }
  return 0;
}
