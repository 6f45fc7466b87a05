import { UserError } from '../errors.ts';

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * Parses a size as IC-OS writes them: bytes, or a number with a K, M, G or T suffix (powers of
 * 1024, an optional trailing "iB" or "B" accepted). `what` names the option or field for messages.
 */
export function parseSize(text: string, what: string): number {
  const match = /^(\d+)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (match === null) {
    throw new UserError(`${what} "${text}": expected a number of bytes with an optional K, M, G or T suffix`);
  }
  const bytes = Number(match[1]) * UNITS[match[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new UserError(`${what} "${text}": must be greater than zero and below 8 PiB`);
  }
  return bytes;
}

/** Renders a byte count for messages: exact bytes plus a rounded binary unit. */
export function describeSize(bytes: number): string {
  for (const [unit, factor] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= factor) return `${bytes} bytes (${+(bytes / factor).toFixed(2)} ${unit})`;
  }
  return `${bytes} bytes`;
}
