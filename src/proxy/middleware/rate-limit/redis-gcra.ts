import type { RedisConnection } from '../../store/redis-connection.js';
import type { GcraPolicy } from './gcra.js';

/**
 * GCRA (gcra.ts) as ONE Lua script, so that reading a key's TAT, deciding
 * and storing the new TAT is one atomic step in Redis however many gateway
 * instances ask at once.
 *
 * - The clock is Redis's own `TIME`, never the caller's: instances whose
 *   clocks disagree (by milliseconds or hours) still share one timeline, and
 *   only durations (retry-after, reset) come back, which each instance adds
 *   to its own clock. A script that writes after reading `TIME` is
 *   non-deterministic; Redis 5 and later replicate a script by its effects
 *   (the SET it made), so that is safe; `redis.replicate_commands()` asks for
 *   the same on 3.2–4 (7.0 made it a no-op that is still there).
 * - The TAT is stored in whole microseconds of Redis time, as text written
 *   with `%.0f` (Lua 5.1 prints numbers with 14 digits: 1.7e+15 would lose
 *   the microseconds), and expires when the key would be back to its full
 *   burst (PX = the time until the TAT, rounded up): an idle key costs Redis
 *   nothing, and a key gone is a key at rest, as in the memory store.
 * - Mode `take` is the memory store's step: admit one request if it fits,
 *   store nothing if it does not. Mode `charge` adds `n` requests an
 *   instance already admitted on its own (shared-store.ts): stored even past
 *   the tolerance, so a key some instances over-admitted is refused until it
 *   has paid the difference back, and totals over time stay exact.
 *
 * KEYS[1] the key; ARGV: T (µs), τ (µs), n, mode (`take` | `charge`), and a
 * time in µs to use instead of `TIME`, for tests only (the gateway never
 * passes it). Returns {allowed 0|1, TAT − now, remaining, retry-after µs}.
 */
export const GCRA_LUA = `
if redis.replicate_commands then redis.replicate_commands() end
local now
if ARGV[5] ~= nil and ARGV[5] ~= '' then
  now = tonumber(ARGV[5])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local next = tat + n * interval
local ahead = next - now
if ARGV[4] == 'take' and ahead > tolerance then
  return {0, tat - now, 0, ahead - tolerance}
end
redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.ceil(ahead / 1000))
local remaining = 0
if ahead < tolerance then remaining = math.floor((tolerance - ahead) / interval) end
return {1, ahead, remaining, 0}
`;

/** What the script answers, in µs relative to Redis's clock at the moment it ran. */
export interface GcraReply {
  readonly allowed: boolean;
  /** The key's TAT minus now: when it is back to its full burst. */
  readonly resetUs: number;
  readonly remaining: number;
  /** When refused, until the next request would be admitted; 0 when allowed. */
  readonly retryAfterUs: number;
}

export type GcraMode = 'take' | 'charge';

/** Runs the script: `n` requests on `key` under `policy`. */
export type RedisGcra = (
  key: string,
  policy: GcraPolicy,
  n: number,
  mode: GcraMode,
  nowUs?: number,
) => Promise<GcraReply>;

/** The script on `connection` (defined there once, whoever asks first). */
export function redisGcra(connection: RedisConnection): RedisGcra {
  const call = connection.script('gwGcra', GCRA_LUA, 1);
  return async (key, policy, n, mode, nowUs) => {
    const reply = await call(key, policy.intervalUs, policy.toleranceUs, n, mode, nowUs ?? '');
    return decode(reply);
  };
}

function decode(reply: unknown): GcraReply {
  if (!Array.isArray(reply) || reply.length !== 4 || !reply.every((v) => typeof v === 'number')) {
    throw new Error(`unexpected answer from the rate-limit script: ${JSON.stringify(reply)}`);
  }
  const [allowed, resetUs, remaining, retryAfterUs] = reply as [number, number, number, number];
  return { allowed: allowed === 1, resetUs, remaining, retryAfterUs };
}
