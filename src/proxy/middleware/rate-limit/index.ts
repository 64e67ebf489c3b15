import { rateLimited } from '../../../shared/errors.js';
import {
  addReplyField,
  traceStep,
  type Exchange,
  type Handler,
  type L4Exchange,
} from '../../pipeline/types.js';
import { defineFeature } from '../feature.js';
import { ceilSeconds, policyField, sfString, stateField } from './fields.js';
import { gcra, gcraPolicy, type GcraResult } from './gcra.js';
import {
  connectionsPerSecondSchema,
  keyText,
  rateLimitSchema,
  type ConnectionsPerSecondSettings,
  type RateLimitKey,
  type RateLimitSettings,
} from './schema.js';
import { isPending, limiterStore, routeScope } from './limiter-store.js';
import { sweptStore, type RateLimitStore } from './store.js';

/** The key a request without one (no such header, no consumer) is counted under. */
export const NO_KEY = '-';

function keyOf(key: RateLimitKey): (ex: Exchange) => string {
  switch (key.kind) {
    case 'client-ip':
      return (ex) => ex.clientIp;
    case 'header': {
      const name = key.name;
      return (ex) => {
        const value = ex.header(name);
        return value === undefined || value === '' ? NO_KEY : value;
      };
    }
    case 'consumer':
      return (ex) => ex.consumer || NO_KEY;
    case 'route':
      return () => '';
  }
}

/** What a limiter's kept state depends on: its rate, burst and key (`rps 10 burst 5 per client-ip`). */
function limitId(rate: number, burst: number, key: string): string {
  return `rps ${rate} burst ${burst} per ${key}`;
}

function formatRate(rps: number): string {
  return rps.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

/**
 * `rateLimit` on a route: each key (client, header value, consumer, or the
 * route as a whole) gets `rps` requests per second with bursts of `burst`,
 * by GCRA (gcra.ts) in a bounded in-memory store (store.ts). Over it the
 * request is answered by the gateway before it goes anywhere: HTTP 429,
 * gRPC RESOURCE_EXHAUSTED (8), a WebSocket upgrade refused with 429, each
 * with `Retry-After` and the RateLimit fields (fields.ts); with `headers:
 * true` admitted answers carry the RateLimit fields too. The store outlives
 * a reload that keeps the route's limit as it was (the same rps, burst and
 * key on the same listener and route): its clients stay where they were. A
 * changed limit starts afresh, and a removed one's store is dropped. With
 * `store: redis` the keys live in the top-level store instead, shared by
 * every gateway using it (shared-store.ts), and outlive reloads there.
 */
export const rateLimit = defineFeature<RateLimitSettings>({
  key: 'rateLimit',
  places: ['route'],
  schema: rateLimitSchema,
  describe: (s) =>
    `limit ${formatRate(s.rps)}/s burst ${s.burst} per ${keyText(s.key)}${s.headers ? ' +headers' : ''}${s.store === 'redis' ? ' in redis' : ''}`,
  toJson: (s) => ({
    rps: s.rps,
    burst: s.burst,
    key: keyText(s.key),
    headers: s.headers,
    ...(s.store === 'redis' ? { store: s.store } : {}),
  }),
  build(settings, deps) {
    const policy = gcraPolicy(settings.rps, settings.burst);
    const name = keyText(settings.key);
    const quotedName = sfString(name);
    const policyValue = policyField(name, settings.rps);
    const reason = `over ${formatRate(settings.rps)}/s (burst ${settings.burst}) per ${name}`;
    const key = keyOf(settings.key);
    const clock = deps.clock;
    // A limit kept in Redis: its keys live there, shared by every gateway, across reloads.
    const shared =
      settings.store === 'redis'
        ? limiterStore('redis', routeScope(deps.where), settings.key.kind === 'header', deps)
        : undefined;
    // The same limit at the same place in the next config keeps these counts (`headers` only
    // changes what admitted answers carry, so it is left out of what must be the same).
    const sweeper = deps.sweeper;
    const id = `${deps.where} ${limitId(settings.rps, settings.burst, name)}`;
    const store: RateLimitStore = shared?.store ?? deps.keep(id, () => sweptStore(sweeper, clock));
    const withHeaders = settings.headers;

    const decide = (ex: Exchange, next: Handler, result: GcraResult): Promise<void> => {
      if (!result.allowed) {
        addReplyField(ex, 'retry-after', String(ceilSeconds(result.retryAfterUs)));
        addReplyField(ex, 'ratelimit-policy', policyValue);
        addReplyField(ex, 'ratelimit', stateField(quotedName, result));
        traceStep(ex, `rateLimit: refused, ${reason}`);
        return Promise.reject(rateLimited(reason));
      }
      if (withHeaders) {
        addReplyField(ex, 'ratelimit-policy', policyValue);
        addReplyField(ex, 'ratelimit', stateField(quotedName, result));
      }
      return next(ex);
    };
    // A decision Redis takes: no closure per request, one async call.
    const decideLater = async (ex: Exchange, next: Handler, later: Promise<GcraResult>) =>
      decide(ex, next, await later);

    return {
      route:
        (next: Handler): Handler =>
        (ex) => {
          const result = store.take(key(ex), Math.floor(clock.nowMs() * 1000), policy);
          return isPending(result) ? decideLater(ex, next, result) : decide(ex, next, result);
        },
      ...(shared === undefined ? {} : { close: shared.close }),
    };
  },
});

/** A tcp listener's connectionsPerSecond state: GCRA's one TAT, for the whole listener. */
interface ListenerGate {
  tatUs: number | undefined;
}

/** How often, at most, a tcp listener logs the connections it refused. */
const REFUSAL_LOG_MS = 1000;

/**
 * `connectionsPerSecond` on a tcp listener: new connections beyond the rate
 * (GCRA over the whole listener, bursts of `burst`) are reset at once,
 * before any target is asked. Refusals are counted and logged at most once
 * a second (`listener raw: 37 connections refused in the last 1 s
 * (connectionsPerSecond 100)`), so a flood cannot flood the log. A reload
 * that keeps the same rate and burst keeps the listener's state.
 */
export const connectionsPerSecond = defineFeature<ConnectionsPerSecondSettings>({
  key: 'connectionsPerSecond',
  places: ['tcp'],
  schema: connectionsPerSecondSchema,
  describe: (s) => `limit ${formatRate(s.rate)} conn/s burst ${s.burst}`,
  toJson: (s) => ({ rate: s.rate, burst: s.burst }),
  build(settings, deps) {
    const policy = gcraPolicy(settings.rate, settings.burst);
    const clock = deps.clock;
    const reason = `over ${formatRate(settings.rate)} connections per second on ${deps.where}`;
    // The listener's one TAT, kept by a reload that leaves the limit as it was.
    const id = `${deps.where} ${limitId(settings.rate, settings.burst, 'listener')}`;
    const gate = deps.keep<ListenerGate>(id, () => ({ value: { tatUs: undefined } }));
    let refused = 0;
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      timer = undefined;
      const n = refused;
      refused = 0;
      deps.log(
        `${deps.where}: ${n} ${n === 1 ? 'connection' : 'connections'} refused in the last 1 s (connectionsPerSecond ${formatRate(settings.rate)})`,
      );
    };
    return {
      tcp:
        (next: Handler<L4Exchange>): Handler<L4Exchange> =>
        (ex) => {
          const result = gcra(gate.tatUs, Math.floor(clock.nowMs() * 1000), policy);
          if (result.allowed) {
            gate.tatUs = result.tatUs;
            return next(ex);
          }
          refused++;
          timer ??= setTimeout(flush, REFUSAL_LOG_MS).unref();
          traceStep(ex, `connectionsPerSecond: refused, ${reason}`);
          return Promise.reject(rateLimited(reason));
        },
    };
  },
});
