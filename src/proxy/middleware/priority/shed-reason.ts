import type { Priority } from '../../pipeline/types.js';
import type { SheddingLimits } from './schema.js';

/**
 * Why a new exchange of `priority` is shed, given the load when it arrives;
 * undefined to admit it. `inFlight` counts the exchanges already admitted, so
 * admitting this one would make `inFlight + 1`: more than a limit is shed.
 * `normal` exchanges answer to the soft limits, `core` ones only to the hard
 * limits (none: never shed). Pure.
 */
export function shedReason(
  priority: Priority,
  inFlight: number,
  delayMs: number,
  limits: SheddingLimits,
): string | undefined {
  const core = priority === 'core';
  const maxInFlight = core ? limits.hardMaxInFlight : limits.maxInFlight;
  if (maxInFlight !== undefined && inFlight + 1 > maxInFlight) {
    return `${inFlight + 1} in flight > ${core ? 'hardMaxInFlight' : 'maxInFlight'} ${maxInFlight}`;
  }
  const maxDelayMs = core ? limits.hardMaxEventLoopDelayMs : limits.maxEventLoopDelayMs;
  if (maxDelayMs !== undefined && delayMs > maxDelayMs) {
    const name = core ? 'hardMaxEventLoopDelayMs' : 'maxEventLoopDelayMs';
    return `event-loop delay ${Math.round(delayMs)} ms > ${name} ${maxDelayMs}`;
  }
  return undefined;
}
