/**
 * The Generic Cell Rate Algorithm (ATM's GCRA, ITU-T I.371), as a pure
 * function of the key's stored state and the time: no timers, no I/O, so it
 * is tested exactly with a manual clock and the same step runs in any store
 * (a Map here; a Redis script later).
 *
 * Why GCRA:
 * - Versus a token bucket: the same admissions (GCRA is a token bucket seen
 *   from the other side), but its whole state is ONE number per key, the
 *   theoretical arrival time (TAT), instead of a token count and a refill
 *   time, and an update is one compare and one add: no refill arithmetic
 *   with fractional tokens, and a shared store updates one value atomically.
 * - Versus a fixed window: no double burst at a window boundary (a client may
 *   send the whole quota at 0.999 s and again at 1.001 s).
 * - Versus a sliding-window log: exact as well, but it keeps one timestamp
 *   per admitted request (memory grows with the rate); a sliding-window
 *   counter keeps two counters but is an approximation that assumes even
 *   arrivals in the previous window.
 * GCRA is exact, O(1) in time and memory per key, and tells the exact
 * moment the next request would be admitted (Retry-After).
 *
 * Time is in whole microseconds so the arithmetic is on integers (exact in
 * a double up to 2^53 µs, some 285 years): the emission interval is 1e6/rps
 * rounded to the microsecond (at least 1 µs), so rates above a million per
 * second act as a million.
 */

/** A limit in the units GCRA works in. */
export interface GcraPolicy {
  /** The emission interval T: microseconds between requests at the steady rate. */
  readonly intervalUs: number;
  /** The burst: requests admitted at once by a key that has been idle. */
  readonly burst: number;
  /** The tolerance τ = burst × T: how far the TAT may run ahead of now. */
  readonly toleranceUs: number;
}

/** The policy for `rps` requests per second with bursts of `burst` (≥ 1). */
export function gcraPolicy(rps: number, burst: number): GcraPolicy {
  const intervalUs = Math.max(1, Math.round(1e6 / rps));
  return { intervalUs, burst, toleranceUs: burst * intervalUs };
}

/** What one request gets. */
export interface GcraResult {
  readonly allowed: boolean;
  /** The key's TAT to store when allowed (unchanged when refused). */
  readonly tatUs: number;
  /** Requests that would still be admitted at once after this one (0 when refused). */
  readonly remaining: number;
  /** When refused, microseconds until a request would be admitted; 0 when allowed. */
  readonly retryAfterUs: number;
  /** Microseconds until the key is back to its full burst (its TAT reached). */
  readonly resetUs: number;
}

/**
 * One request at `nowUs` for a key whose stored TAT is `tatUs` (undefined
 * for a key never seen or expired). Admitted when the new TAT, max(TAT, now)
 * + T, is no more than τ ahead of now: an idle key takes `burst` requests at
 * once, then one every T.
 */
export function gcra(tatUs: number | undefined, nowUs: number, policy: GcraPolicy): GcraResult {
  const base = tatUs === undefined || tatUs < nowUs ? nowUs : tatUs;
  const next = base + policy.intervalUs;
  const ahead = next - nowUs;
  if (ahead > policy.toleranceUs) {
    return {
      allowed: false,
      tatUs: base,
      remaining: 0,
      retryAfterUs: ahead - policy.toleranceUs,
      resetUs: base - nowUs,
    };
  }
  return {
    allowed: true,
    tatUs: next,
    remaining: Math.floor((policy.toleranceUs - ahead) / policy.intervalUs),
    retryAfterUs: 0,
    resetUs: ahead,
  };
}
