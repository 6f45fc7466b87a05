import { UserError } from '../errors.ts';

/**
 * SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/): the one
 * timestamp every artifact carries. Defaults to 0 so two builds agree without any setup.
 */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return 0;
  if (!/^\d+$/.test(raw)) {
    throw new UserError(`SOURCE_DATE_EPOCH "${raw}": expected a whole number of seconds since 1970-01-01 UTC`);
  }
  return Number(raw);
}
