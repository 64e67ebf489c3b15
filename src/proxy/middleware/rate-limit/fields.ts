import type { GcraResult } from './gcra.js';

/*
 * The fields a rate-limited route's answers carry, after
 * draft-ietf-httpapi-ratelimit-headers-10 ("RateLimit header fields for
 * HTTP", 2025): two Structured Fields (RFC 9651), each a List of Items whose
 * value is the policy's name (an sf-string) with parameters:
 *
 *   RateLimit-Policy: "client-ip";q=100;w=1   quota q per window w seconds
 *   RateLimit: "client-ip";r=19;t=1            r remaining, t seconds to reset
 *
 * GCRA has no windows: the policy says the sustained rate (q per w, whole
 * numbers: 100 rps is q=100;w=1, 0.5 rps is q=1;w=2); r is how many requests
 * would be admitted at once now (what is left of the burst), and t the
 * seconds, rounded up, until the key is back to its full burst (after a
 * refusal, until the next request would be admitted, as Retry-After says).
 * Names are lower case, as HTTP/2 and gRPC metadata require.
 */

/** `"name";q=Q;w=W` for `rps`, computed once per config load. */
export function policyField(name: string, rps: number): string {
  let q: number;
  let w: number;
  if (Number.isInteger(rps)) {
    q = rps;
    w = 1;
  } else if (rps < 1 && Number.isInteger(1 / rps)) {
    q = 1;
    w = 1 / rps;
  } else {
    // A fraction like 2.5: over a minute, rounded down so the promise holds.
    w = 60;
    q = Math.max(1, Math.floor(rps * 60));
  }
  return `${sfString(name)};q=${q};w=${w}`;
}

/** `"name";r=R;t=T` for one request's result. */
export function stateField(quotedName: string, result: GcraResult): string {
  const resetUs = result.allowed ? result.resetUs : result.retryAfterUs;
  return `${quotedName};r=${result.remaining};t=${ceilSeconds(resetUs)}`;
}

/** Microseconds to whole seconds, rounded up (Retry-After is delay-seconds, RFC 9110 §10.2.3). */
export function ceilSeconds(us: number): number {
  return Math.ceil(us / 1e6);
}

/** An sf-string (RFC 9651 §3.3.3): printable ASCII in quotes, `"` and `\` escaped. */
export function sfString(text: string): string {
  return `"${text.replace(/[^\x20-\x7e]/g, '').replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
