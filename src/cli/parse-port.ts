import { invalidArgument } from '../shared/errors.js';

/**
 * A port given on the command line: digits only, from 0 (with `allowZero`:
 * the system picks a free port) or 1, up to `max` (65535 unless fewer are
 * usable). GW_ERR_INVALID_ARGUMENT (exit 2) otherwise, naming the range.
 */
export function parsePort(
  flag: string,
  value: string,
  options: { allowZero?: boolean; max?: number } = {},
): number {
  const min = options.allowZero === true ? 0 : 1;
  const max = options.max ?? 65535;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < min || port > max) {
    const range = `expected ${min}-${max}`;
    throw invalidArgument(flag, value, min === 0 ? `${range} (0 picks a free port)` : range);
  }
  return port;
}
