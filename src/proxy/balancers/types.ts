/**
 * The balancer contract. A balancer chooses one target for one request (or
 * one TCP connection, or one gRPC call). Balancers are pure: no sockets, no
 * timers, no randomness except through the injected `random` function, so
 * they are tested by calling `pick` many times.
 */

/** A target as balancers see it. */
export interface BalancerTarget {
  /** Stable id, `host:port`. */
  readonly id: string;
  /** Positive integer weight. */
  readonly weight: number;
}

/** What a request offers for the choice. */
export interface PickContext {
  /**
   * The hash key already extracted by the listener from the configured
   * `hashKey` (client IP, a header, a cookie, the path). Undefined when the
   * request has none (a missing header): hash balancers then fall back to
   * round-robin so the request is still served.
   */
  readonly key?: string;
}

export interface Balancer<T extends BalancerTarget = BalancerTarget> {
  /**
   * Chooses a target, or undefined when none is available. Targets whose id
   * is in `exclude` (tried already by this request, or known down) are
   * skipped; if every target is excluded, undefined.
   */
  pick(context: PickContext, exclude?: ReadonlySet<string>): T | undefined;
  /** Replaces the target set (discovery, health). Keeps per-target state where ids persist. */
  update(targets: readonly T[]): void;
}

/** Options every balancer factory accepts. */
export interface BalancerOptions {
  /**
   * A uniform random number in [0, 1). Tests inject a seeded one. Defaults to
   * a generator seeded from Math.random (`defaultRandom`), which unlike
   * Math.random itself allocates nothing per call.
   */
  readonly random?: () => number;
  /** Requests in flight on a target, for least-conn and p2c. Defaults to 0 for all. */
  readonly load?: (targetId: string) => number;
}

/**
 * What every balancer module exports: builds a balancer over an initial target
 * set (which may be empty). Throws `GW_ERR_INVALID_ARGUMENT` on a bad set (a
 * weight that is not a positive whole number, a repeated id).
 */
export type BalancerFactory = <T extends BalancerTarget>(
  targets: readonly T[],
  options?: BalancerOptions,
) => Balancer<T>;
