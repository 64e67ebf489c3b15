/**
 * `circuitBreaker` on an upstream: stop sending to an upstream (or, with
 * `perTarget`, to a target) whose calls keep failing, answer at once instead
 * (or send to the other targets), and probe it now and then until it works
 * again. Pure: the schema, its defaults, and the line for
 * `gw proxy --check`.
 */
import { z } from 'zod';
import { MAX_TIMER_MS, millis, share } from '../config/schema-parts.js';

/** Attempt outcomes that may count as failures (see AttemptOutcome in upstream-runtime.ts). */
export const BREAKER_OUTCOMES = ['connect-failed', 'timeout', 'reset', 'status-5xx'] as const;
export type BreakerOutcome = (typeof BREAKER_OUTCOMES)[number];

/** The circuit breaker of one upstream, defaults filled in. */
export interface BreakerSettings {
  /** Opens when this share (0..1) of the calls in the window failed. */
  readonly failureRate: number;
  /** Never opens on fewer calls than this in the window. */
  readonly minCalls: number;
  /** The window: the last `windowMs` milliseconds (set when `windowCalls` is not). */
  readonly windowMs?: number;
  /** The window: the last `windowCalls` calls (set when `windowMs` is not). */
  readonly windowCalls?: number;
  /** Which attempt outcomes count as failures. */
  readonly on: readonly BreakerOutcome[];
  /** A call lasting at least this long is slow (with `slowCallRate`). */
  readonly slowCallMs?: number;
  /** Opens when this share of the calls in the window were slow (with `slowCallMs`). */
  readonly slowCallRate?: number;
  /** How long the first trip stays open; each consecutive trip doubles it, up to `maxOpenMs`. */
  readonly openMs: number;
  readonly maxOpenMs: number;
  /** Probes let through when half-open; all must succeed to close. */
  readonly halfOpenCalls: number;
  /** A probe not over after this long counts as failed (half-open cannot stick). */
  readonly halfOpenTimeoutMs: number;
  /**
   * One breaker per target (each with these settings, fed by that target's
   * attempts; an open one is out of the balancer's rotation) instead of one
   * for the whole upstream.
   */
  readonly perTarget: boolean;
}

export const BREAKER_DEFAULTS = {
  failureRate: 0.5,
  minCalls: 20,
  windowMs: 10_000,
  on: BREAKER_OUTCOMES,
  openMs: 5_000,
  maxOpenMs: 60_000,
  halfOpenCalls: 3,
  halfOpenTimeoutMs: 10_000,
  perTarget: false,
} as const;

const count = (max: number) =>
  z.number().int().min(1).max(max).describe(`a whole number, 1 to ${max}`);

/** The `circuitBreaker` key of an upstream: validated, then resolved with defaults. */
export const breakerSchema = z
  .strictObject({
    failureRate: share.optional(),
    minCalls: count(1_000_000_000).optional(),
    windowMs: z
      .number()
      .int()
      .min(10)
      .max(MAX_TIMER_MS)
      .describe('a whole number of milliseconds, 10 to 2147483647')
      .optional(),
    windowCalls: count(100_000).optional(),
    on: z
      .array(z.enum(BREAKER_OUTCOMES).describe(BREAKER_OUTCOMES.join(', ')))
      .min(1)
      .describe(`a list of one or more of ${BREAKER_OUTCOMES.join(', ')}`)
      .optional(),
    slowCallMs: millis.optional(),
    slowCallRate: share.optional(),
    openMs: millis.optional(),
    maxOpenMs: millis.optional(),
    halfOpenCalls: count(1000).optional(),
    halfOpenTimeoutMs: millis.optional(),
    perTarget: z
      .boolean()
      .describe('true (one breaker per target) or false (one for the upstream)')
      .optional(),
  })
  .superRefine((file, ctx) => {
    if (file.windowMs !== undefined && file.windowCalls !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['windowCalls'],
        message: 'give windowMs (a time window) or windowCalls (the last N calls), not both',
      });
    }
    if ((file.slowCallMs === undefined) !== (file.slowCallRate === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [file.slowCallMs === undefined ? 'slowCallMs' : 'slowCallRate'],
        message: 'slowCallMs and slowCallRate go together',
      });
    }
    if (file.openMs !== undefined && file.maxOpenMs !== undefined && file.maxOpenMs < file.openMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxOpenMs'],
        message: `must be at least openMs (${file.openMs})`,
      });
    }
  })
  .transform((file): BreakerSettings => {
    const openMs = file.openMs ?? BREAKER_DEFAULTS.openMs;
    return {
      failureRate: file.failureRate ?? BREAKER_DEFAULTS.failureRate,
      minCalls: file.minCalls ?? BREAKER_DEFAULTS.minCalls,
      ...(file.windowCalls === undefined
        ? { windowMs: file.windowMs ?? BREAKER_DEFAULTS.windowMs }
        : { windowCalls: file.windowCalls }),
      on:
        file.on === undefined
          ? BREAKER_DEFAULTS.on
          : BREAKER_OUTCOMES.filter((o) => file.on?.includes(o)),
      ...(file.slowCallMs === undefined || file.slowCallRate === undefined
        ? {}
        : { slowCallMs: file.slowCallMs, slowCallRate: file.slowCallRate }),
      openMs,
      // A longer first trip than the default cap raises the cap with it.
      maxOpenMs: file.maxOpenMs ?? Math.max(BREAKER_DEFAULTS.maxOpenMs, openMs),
      halfOpenCalls: file.halfOpenCalls ?? BREAKER_DEFAULTS.halfOpenCalls,
      halfOpenTimeoutMs: file.halfOpenTimeoutMs ?? BREAKER_DEFAULTS.halfOpenTimeoutMs,
      perTarget: file.perTarget ?? BREAKER_DEFAULTS.perTarget,
    };
  });

/** `10 s`, `250 ms`, `1.5 s`. */
export function msText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${Math.round(ms / 100) / 10} s`;
}

/** The window as words: `in 10 s` or `of the last 50 calls`. */
export function windowText(s: BreakerSettings): string {
  return s.windowCalls === undefined
    ? `in ${msText(s.windowMs ?? BREAKER_DEFAULTS.windowMs)}`
    : `of the last ${s.windowCalls} calls`;
}

/** The settings as one line for `gw proxy --check`. */
export function breakerText(s: BreakerSettings): string {
  const slow =
    s.slowCallMs === undefined ? '' : ` or ≥ ${s.slowCallRate ?? 0} slow (≥ ${s.slowCallMs}ms)`;
  return (
    `breaker${s.perTarget ? ' per target' : ''}: open at ≥ ${s.failureRate} ${s.on.join('|')}${slow} ${windowText(s)} (min ${s.minCalls} calls)` +
    ` → open ${s.openMs}ms × 2^n (max ${s.maxOpenMs}ms), half-open ${s.halfOpenCalls} probes (timeout ${s.halfOpenTimeoutMs}ms)`
  );
}

/** The settings for `gw proxy --check --json`. */
export function breakerJson(s: BreakerSettings): Record<string, unknown> {
  return { ...s, on: [...s.on] };
}
