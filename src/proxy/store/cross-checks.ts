/**
 * A rate limit kept in Redis (`store: redis`) needs the top-level `store`
 * that says which Redis. Checked on the raw document beside the schema, like
 * the other cross-checks (config/cross-checks.ts), so one run reports every
 * such place with its path. Pure.
 */
import type { Add } from '../config/cross-checks.js';
import { fields, type Fields } from '../config/raw-fields.js';

const ALLOWED = 'memory, or a top-level store: { redis: redis://HOST:PORT } for redis';

/** Each `rateLimit.store: redis` (routes, consumers) in a document without a top-level `store`. */
export function storeCrossChecks(doc: Fields, add: Add): void {
  if (doc.store !== undefined) return;
  const check = (place: unknown, at: readonly PropertyKey[]): void => {
    if (fields(fields(place)?.rateLimit)?.store !== 'redis') return;
    add([...at, 'rateLimit', 'store'], 'needs the top-level store that says which Redis', {
      kind: 'reference',
      allowed: ALLOWED,
    });
  };
  list(doc.listeners).forEach((listener, i) => {
    list(fields(listener)?.routes).forEach((route, j) => {
      check(route, ['listeners', i, 'routes', j]);
    });
  });
  list(doc.consumers).forEach((consumer, i) => {
    check(consumer, ['consumers', i]);
  });
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}
