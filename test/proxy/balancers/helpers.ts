/**
 * Shared test helpers for the balancer tests: a seeded PRNG, target sets and
 * pick tallies. Not a test file itself (no `.test.ts`).
 */
import type { Balancer, BalancerTarget, PickContext } from '../../../src/proxy/balancers/types.js';

/**
 * mulberry32 (Tommy Ettinger): a tiny, fast 32-bit PRNG with a full 2^32
 * period, good enough for statistical tests. Returns uniform numbers in [0, 1),
 * the same sequence for the same seed.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Targets named by `ids`, with the given weights (1 each when omitted). */
export function targets(ids: readonly string[], weights: readonly number[] = []): BalancerTarget[] {
  return ids.map((id, i) => ({ id, weight: weights[i] ?? 1 }));
}

/** `count` targets `t0`, `t1`, ... with the given weights (1 each when omitted). */
export function numbered(count: number, weights: readonly number[] = []): BalancerTarget[] {
  return targets(
    Array.from({ length: count }, (_, i) => `t${i}`),
    weights,
  );
}

/** The ids of `count` successive picks (undefined shown as `-`). */
export function sequence(
  balancer: Balancer,
  count: number,
  context: PickContext = {},
  exclude?: ReadonlySet<string>,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(balancer.pick(context, exclude)?.id ?? '-');
  return out;
}

/** How many of `count` picks went to each id (ids never picked are absent; undefined counts as `-`). */
export function tally(
  balancer: Balancer,
  count: number,
  context: PickContext = {},
  exclude?: ReadonlySet<string>,
): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const id = balancer.pick(context, exclude)?.id ?? '-';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** The length of the longest run of equal consecutive values. */
export function longestRun(values: readonly string[]): number {
  let longest = 0;
  let run = 0;
  values.forEach((value, i) => {
    run = i > 0 && values[i - 1] === value ? run + 1 : 1;
    longest = Math.max(longest, run);
  });
  return longest;
}

/** `count` distinct IPv4 addresses drawn from `random`: the keys a client-ip hash sees. */
export function randomIps(count: number, random: () => number): string[] {
  const keys = new Set<string>();
  const octet = (): number => Math.floor(random() * 256);
  while (keys.size < count) keys.add(`${octet()}.${octet()}.${octet()}.${octet()}`);
  return [...keys];
}
