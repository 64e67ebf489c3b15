import { shed } from '../../../shared/errors.js';
import { loadMonitor } from '../../load/load-monitor.js';
import type { Exchange, Handler, Priority } from '../../pipeline/types.js';
import { defineFeature } from '../feature.js';
import { prioritySchema } from './schema.js';
import { shedReason } from './shed-reason.js';

/** Ends an admitted exchange's count: module functions, so admitting one makes no closure. */
function release(): void {
  loadMonitor.inFlight--;
}
function releaseAndThrow(err: unknown): never {
  loadMonitor.inFlight--;
  throw err;
}

/**
 * Route `priority` (default `normal`) and, with top-level `shedding`, load
 * shedding: every route counts its exchanges in flight (WebSocket sessions
 * are not counted: a long-lived tunnel is not load, though an upgrade is shed
 * like a request), and an exchange that arrives over its priority's limits
 * is refused with 503 GW_ERR_SHED (gRPC UNAVAILABLE), or the route's static
 * fallback. Without `shedding` it only marks `core` exchanges, and `normal`
 * routes get no middleware at all.
 */
export const priority = defineFeature<Priority>({
  key: 'priority',
  places: ['route'],
  schema: prioritySchema,
  unset: 'normal',
  describe: (p) => `priority ${p}`,
  toJson: (p) => p,
  build(level, deps) {
    const limits = deps.config.shedding;
    if (limits === undefined) {
      if (level === 'normal') return {};
      return {
        route:
          (next: Handler): Handler =>
          (ex) => {
            ex.priority = level;
            return next(ex);
          },
      };
    }
    const stopUsing = loadMonitor.use(
      deps.sweeper,
      deps.log,
      limits.maxEventLoopDelayMs !== undefined,
    );
    return {
      close: stopUsing,
      route:
        (next: Handler): Handler =>
        (ex: Exchange) => {
          ex.priority = level;
          const reason = shedReason(level, loadMonitor.inFlight, loadMonitor.delayMs, limits);
          if (reason !== undefined) {
            loadMonitor.noteShed(level, reason);
            return Promise.reject(shed(reason));
          }
          if (ex.kind === 'ws') return next(ex);
          loadMonitor.inFlight++;
          try {
            return next(ex).then(release, releaseAndThrow);
          } catch (err) {
            loadMonitor.inFlight--;
            throw err;
          }
        },
    };
  },
});
