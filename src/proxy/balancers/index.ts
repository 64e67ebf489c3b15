import type { BalanceName } from '../config/types.js';
import { invalidArgument } from '../../shared/errors.js';
import { hash } from './hash.js';
import { leastConn } from './least-conn.js';
import { p2c } from './p2c.js';
import { random } from './random.js';
import { roundRobin } from './round-robin.js';
import type { Balancer, BalancerFactory, BalancerOptions, BalancerTarget } from './types.js';
import { weighted } from './weighted.js';

export type {
  Balancer,
  BalancerFactory,
  BalancerOptions,
  BalancerTarget,
  PickContext,
} from './types.js';

/** Every balancer by its configuration name (`balance:` in an upstream). */
export const BALANCERS: Readonly<Record<BalanceName, BalancerFactory>> = {
  random,
  'round-robin': roundRobin,
  weighted,
  hash,
  'least-conn': leastConn,
  p2c,
};

/**
 * Builds the balancer an upstream's `balance:` names, over its initial
 * targets (which may be empty until discovery reports). Called once per
 * upstream at config load and never per request.
 *
 * @throws GwError `GW_ERR_INVALID_ARGUMENT` for an unknown name (possible only
 *   from untyped callers; the config schema rejects it first) or a bad target
 *   set (see `checkTargets`).
 */
export function createBalancer<T extends BalancerTarget>(
  name: BalanceName,
  targets: readonly T[],
  options: BalancerOptions = {},
): Balancer<T> {
  const factory = Object.hasOwn(BALANCERS, name) ? BALANCERS[name] : undefined;
  if (factory === undefined) {
    throw invalidArgument('balance', name, `one of ${Object.keys(BALANCERS).join(', ')}`);
  }
  return factory(targets, options);
}
