import { checkTargets } from './check-targets.js';
import { murmur3 } from './murmur3.js';
import { roundRobin } from './round-robin.js';
import type { Balancer, BalancerTarget, PickContext } from './types.js';

/**
 * Ring points per unit of weight. Ketama and nginx use 160; a target's share
 * of the ring then varies by about ±8% (one standard deviation, 1/√points)
 * from one id to another. 640 points narrow that to about ±4%, so with n
 * equal targets none holds much more than 1/n of the keys, and removing one
 * moves little more than 1/n of them. The cost is memory (8 bytes a point,
 * 51 KiB for ten targets of weight 1) and ring-building time in `update()`;
 * thanks to the bucket index, not time per pick.
 */
export const POINTS_PER_WEIGHT = 640;

/**
 * Upper bound on the ring's size (2 MiB of arrays). Beyond it (a total weight
 * above 409 at 640 points each) every target's point count is scaled down in
 * proportion, at least 1 point each. Changing that scale moves more keys than
 * a plain add or remove would, so very large weights cost some consistency.
 */
export const MAX_RING_POINTS = 1 << 18;

/** At most 2^16 buckets in the lookup index (256 KiB). */
const MAX_BUCKET_BITS = 16;

/**
 * Packs a point as `hash * RANK_SPAN + rank` in one double so that a plain
 * numeric sort orders the ring; exact below 2^53, so for up to 2^21 targets.
 */
const RANK_SPAN = 2 ** 21;

/**
 * Consistent hashing (一致性哈希), ketama style: each target owns
 * `weight × POINTS_PER_WEIGHT` points on a ring of 32-bit hashes, at
 * `murmur3("<id>#<i>")` for i = 0, 1, ...; a request's key is hashed with the
 * same function and served by the owner of the first point at or clockwise
 * after it. So the same key goes to the same target while the set is
 * unchanged, shares follow the weights, and adding or removing one target
 * moves only the keys that target gains or loses (about weight / total of
 * them): points depend only on the target's own id, never on the others.
 * The ring does not depend on the order of the targets.
 *
 * When `context.key` is undefined (the request lacks the configured header,
 * cookie, ...), the request is served by round-robin, so it still gets an
 * answer. When the key's target is excluded (a retry, a known-down target),
 * the walk continues clockwise to the first point whose target is not
 * excluded: deterministic, and it spreads a failed target's keys over the
 * others instead of dumping them all on one neighbour.
 *
 * The ring is built in the constructor and in `update()` (O(P log P) for P
 * points); `pick` hashes the key (O(key length)) and finds its point through
 * a bucket index over the ring (O(1) expected, O(log P) at worst), allocating
 * nothing. It takes no options.
 */
export function hash<T extends BalancerTarget>(targets: readonly T[]): Balancer<T> {
  return new HashRing(targets);
}

class HashRing<T extends BalancerTarget> implements Balancer<T> {
  private targets: T[] = [];
  /** Point positions, sorted ascending. */
  private points: Uint32Array = new Uint32Array(0);
  /** owners[k]: index in `targets` of the target owning points[k]. */
  private owners: Uint32Array = new Uint32Array(0);
  /** buckets[b]: index of the first point whose top bits (point >>> shift) are >= b. */
  private buckets: Uint32Array = new Uint32Array(2);
  private shift = 31;
  private readonly fallback: Balancer<T>;

  constructor(targets: readonly T[]) {
    this.fallback = roundRobin(targets);
    this.install(checkTargets(targets));
  }

  pick(context: PickContext, exclude?: ReadonlySet<string>): T | undefined {
    const key = context.key;
    if (key === undefined) return this.fallback.pick(context, exclude);
    const { points, owners, targets } = this;
    const size = points.length;
    if (size === 0) return undefined;
    const h = murmur3(key);
    // The first point >= h lies between the bounds of h's bucket (see buildRing).
    const bucket = h >>> this.shift;
    let lo = this.buckets[bucket] ?? 0;
    let hi = this.buckets[bucket + 1] ?? size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((points[mid] ?? 0) < h) lo = mid + 1;
      else hi = mid;
    }
    const at = lo < size ? lo : 0; // past the last point: wrap to the first
    const target = targets[owners[at] ?? 0];
    if (exclude === undefined || exclude.size === 0 || target === undefined) return target;
    if (!exclude.has(target.id)) return target;
    return this.walk(at, exclude);
  }

  /** The owner of the first point clockwise from `start` whose target is not excluded. */
  private walk(start: number, exclude: ReadonlySet<string>): T | undefined {
    const { points, owners, targets } = this;
    let eligible = 0;
    for (const target of targets) if (!exclude.has(target.id)) eligible++;
    if (eligible === 0) return undefined;
    for (let step = 1; step < points.length; step++) {
      const at = (start + step) % points.length;
      const target = targets[owners[at] ?? 0];
      if (target !== undefined && !exclude.has(target.id)) return target;
    }
    return undefined;
  }

  update(targets: readonly T[]): void {
    const next = checkTargets(targets);
    this.fallback.update(next);
    this.install(next);
  }

  private install(targets: T[]): void {
    const ring = buildRing(targets);
    this.targets = targets;
    this.points = ring.points;
    this.owners = ring.owners;
    this.buckets = ring.buckets;
    this.shift = ring.shift;
  }
}

interface Ring {
  points: Uint32Array;
  owners: Uint32Array;
  buckets: Uint32Array;
  shift: number;
}

/**
 * Builds the sorted ring (point positions and, for each, its owner's index in
 * `targets`) and a bucket index over it. The index splits the hash space into
 * 2^bits equal buckets, about one per two points, and records where each
 * bucket's points start: a lookup then binary-searches two or three points
 * instead of the whole ring, which on a ring of thousands of points is most
 * of the cost of a pick (each step of a long search is a mispredicted branch).
 */
function buildRing(targets: readonly BalancerTarget[]): Ring {
  const units = targets.reduce((sum, t) => sum + t.weight, 0);
  const scale = Math.min(1, MAX_RING_POINTS / Math.max(1, units * POINTS_PER_WEIGHT));
  const counts = targets.map((t) => Math.max(1, Math.round(t.weight * POINTS_PER_WEIGHT * scale)));
  // Ties between equal hashes are broken by id (through the rank), not by
  // array position, so that the ring is the same whatever the targets' order.
  const byId = targets.map((_, i) => i).sort((a, b) => compareIds(targets, a, b));
  const packed = new Float64Array(counts.reduce((sum, c) => sum + c, 0));
  let k = 0;
  byId.forEach((index, rank) => {
    const target = targets[index];
    const count = counts[index] ?? 0;
    if (target === undefined) return;
    for (let i = 0; i < count; i++) packed[k++] = murmur3(`${target.id}#${i}`) * RANK_SPAN + rank;
  });
  packed.sort();
  const points = new Uint32Array(packed.length);
  const owners = new Uint32Array(packed.length);
  packed.forEach((value, j) => {
    const rank = value % RANK_SPAN;
    points[j] = (value - rank) / RANK_SPAN;
    owners[j] = byId[rank] ?? 0;
  });
  // At least 1 bit: a shift by 32 would be a shift by 0 in JavaScript.
  const bits = Math.min(MAX_BUCKET_BITS, Math.max(1, Math.ceil(Math.log2(points.length + 1)) - 1));
  const shift = 32 - bits;
  const buckets = new Uint32Array((1 << bits) + 1);
  let at = 0;
  for (let b = 0; b < buckets.length; b++) {
    while (at < points.length && (points[at] ?? 0) >>> shift < b) at++;
    buckets[b] = at;
  }
  return { points, owners, buckets, shift };
}

function compareIds(targets: readonly BalancerTarget[], a: number, b: number): number {
  const x = targets[a]?.id ?? '';
  const y = targets[b]?.id ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}
