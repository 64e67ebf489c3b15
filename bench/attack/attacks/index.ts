/** Every attack row of bench/attack, in table order: HTTP/1.1 rows first, then HTTP/2 (gRPC) rows. */
import { H2_CONNECTION_ATTACKS } from './h2-connections.js';
import { H2_FLOOD_ATTACKS } from './h2-floods.js';
import { H2_STREAM_ATTACKS } from './h2-streams.js';
import { HTTP1_ATTACKS } from './http1.js';
import type { Attack } from './kit.js';

export type { Attack, AttackOutcome, Family, Target } from './kit.js';

export const ATTACKS: readonly Attack[] = [
  ...HTTP1_ATTACKS,
  ...H2_CONNECTION_ATTACKS,
  ...H2_STREAM_ATTACKS,
  ...H2_FLOOD_ATTACKS,
];
