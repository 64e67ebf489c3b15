/** Small statistics helpers for the benchmarks: medians of repeated runs. */

/** The median of `values` (the mean of the middle two for an even count). Throws on an empty list. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/**
 * The `q`-quantile (0..1) of `values` with linear interpolation between the
 * two nearest ranks, as spreadsheets compute it. Throws on an empty list.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new RangeError('no values');
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  const low = sorted[lo] ?? 0;
  const high = sorted[hi] ?? low;
  return low + (high - low) * (at - lo);
}

/** Rounds to `digits` significant digits, for JSON output that stays readable. */
export function round(value: number, digits = 4): number {
  return Number(value.toPrecision(digits));
}
