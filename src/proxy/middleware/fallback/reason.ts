/** What `x-gw-fallback` says: why the route's fallback answered instead of its upstream. */
export type FallbackReason = 'circuit-open' | 'no-target' | 'upstream-failed' | 'shed';

/**
 * Why a failure calls for the route's fallback, by its GW_ERR_* code; undefined
 * for a failure the fallback does not cover (the client's own fault, a refusal
 * by an earlier middleware, a route not found). Pure.
 */
export function fallbackReason(code: string): FallbackReason | undefined {
  switch (code) {
    case 'GW_ERR_CIRCUIT_OPEN':
      return 'circuit-open';
    case 'GW_ERR_NO_TARGET':
      return 'no-target';
    case 'GW_ERR_UPSTREAM_CONNECT':
    case 'GW_ERR_UPSTREAM_RESET':
    case 'GW_ERR_UPSTREAM_TIMEOUT':
      return 'upstream-failed';
    case 'GW_ERR_SHED':
      return 'shed';
    default:
      return undefined;
  }
}
