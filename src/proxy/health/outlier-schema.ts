/**
 * `outlierDetection` on an upstream: passive checks, from the outcomes of
 * real traffic. A target whose attempts fail `consecutiveFailures` times in a
 * row (counting the outcomes listed in `on`) is ejected: it gets no new
 * exchanges for `baseEjectionMs × its number of ejections`, capped at
 * `maxEjectionMs`; at most `maxEjectedShare` of the upstream's targets are
 * ejected at once. Pure: the schema and its defaults.
 */
import { z } from 'zod';
import { millis, share } from '../config/schema-parts.js';

/** Attempt outcomes that may count as failures (see AttemptOutcome in upstream-runtime.ts). */
export const OUTLIER_OUTCOMES = ['connect-failed', 'timeout', 'reset', 'status-5xx'] as const;
export type OutlierOutcome = (typeof OUTLIER_OUTCOMES)[number];

/** Outlier detection of one upstream, defaults filled in. */
export interface OutlierSettings {
  /** Failures in a row (of the kinds in `on`) that eject a target. */
  readonly consecutiveFailures: number;
  /** Which attempt outcomes count as failures. */
  readonly on: readonly OutlierOutcome[];
  /** The first ejection's length; the n-th lasts n times this, up to `maxEjectionMs`. */
  readonly baseEjectionMs: number;
  /** No ejection lasts longer; also the time in service that forgives one past ejection. */
  readonly maxEjectionMs: number;
  /** At most this share of the targets is ejected at once (see {@link maxEjected}). */
  readonly maxEjectedShare: number;
}

export const OUTLIER_DEFAULTS: OutlierSettings = {
  consecutiveFailures: 5,
  on: OUTLIER_OUTCOMES,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectedShare: 0.5,
};

/** The `outlierDetection` key of an upstream: validated, then resolved with defaults. */
export const outlierSchema = z
  .strictObject({
    consecutiveFailures: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .describe('a whole number of failures, 1 to 1000000')
      .optional(),
    on: z
      .array(z.enum(OUTLIER_OUTCOMES).describe(OUTLIER_OUTCOMES.join(', ')))
      .min(1)
      .describe(`a list of one or more of ${OUTLIER_OUTCOMES.join(', ')}`)
      .optional(),
    baseEjectionMs: millis.optional(),
    maxEjectionMs: millis.optional(),
    maxEjectedShare: share.optional(),
  })
  .superRefine(({ baseEjectionMs, maxEjectionMs }, ctx) => {
    if (
      baseEjectionMs !== undefined &&
      maxEjectionMs !== undefined &&
      maxEjectionMs < baseEjectionMs
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxEjectionMs'],
        message: `must be at least baseEjectionMs (${baseEjectionMs})`,
      });
    }
  })
  .transform((file): OutlierSettings => {
    const baseEjectionMs = file.baseEjectionMs ?? OUTLIER_DEFAULTS.baseEjectionMs;
    return {
      consecutiveFailures: file.consecutiveFailures ?? OUTLIER_DEFAULTS.consecutiveFailures,
      // Each kind once, in the canonical order.
      on:
        file.on === undefined
          ? OUTLIER_DEFAULTS.on
          : OUTLIER_OUTCOMES.filter((o) => file.on?.includes(o)),
      baseEjectionMs,
      // A longer base than the default cap raises the cap with it.
      maxEjectionMs: file.maxEjectionMs ?? Math.max(OUTLIER_DEFAULTS.maxEjectionMs, baseEjectionMs),
      maxEjectedShare: file.maxEjectedShare ?? OUTLIER_DEFAULTS.maxEjectedShare,
    };
  });

/**
 * How many of `total` targets may be ejected at once: `maxEjectedShare` of
 * them rounded down, but at least one when there are two or more targets
 * (and the share is not 0), so a small upstream can still shed its bad
 * target; never the only target of an upstream, which has nowhere else to send.
 */
export function maxEjected(share: number, total: number): number {
  if (total < 2 || share <= 0) return 0;
  return Math.max(1, Math.floor(share * total + 1e-9));
}

/** The settings as one line for `gw proxy --check`. */
export function outlierText(s: OutlierSettings): string {
  return (
    `outliers: ${s.consecutiveFailures} consecutive ${s.on.join('|')}` +
    ` → eject ${s.baseEjectionMs}ms × n (max ${s.maxEjectionMs}ms), at most ${s.maxEjectedShare * 100}% ejected`
  );
}
