import { allowFrom } from './allow-from/index.js';
import { auth } from './auth/index.js';
import type { AnyFeature } from './feature.js';
import { fallback } from './fallback/index.js';
import { priority } from './priority/index.js';
import { connectionsPerSecond, rateLimit } from './rate-limit/index.js';
import { responseHeaders } from './response-headers/index.js';

/**
 * Every gateway feature, in the order its middleware runs on a route (the
 * first sees the request first). A new feature is a folder under
 * `middleware/` and one line here.
 */
export const FEATURES: readonly AnyFeature[] = [
  allowFrom,
  auth,
  rateLimit,
  connectionsPerSecond,
  fallback,
  priority,
  responseHeaders,
];
