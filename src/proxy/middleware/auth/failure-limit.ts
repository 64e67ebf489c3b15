import type { Clock } from '../../../shared/clock.js';
import { rateLimited } from '../../../shared/errors.js';
import { addReplyField, traceStep, type Exchange } from '../../pipeline/types.js';
import { ceilSeconds } from '../rate-limit/fields.js';
import { gcraPolicy, type GcraPolicy } from '../rate-limit/gcra.js';
import { sweptStore, type MemoryRateLimitStore } from '../rate-limit/store.js';
import type { FeatureDeps } from '../feature.js';

/** A route's allowance of failed authentications per client address. */
export interface FailureLimitSettings {
  /** Failures per second a client earns back. */
  readonly rps: number;
  /** Failures a client that has not failed lately may make at once. */
  readonly burst: number;
}

/**
 * The default `failureLimit`: 10 failures at once, then one a second.
 *
 * - 10 at once: a person mistyping a password a few times, a client trying
 *   an old key then the new one, a browser's first request sent without
 *   credentials, are all far from it; a misconfigured client looping on a
 *   wrong key is stopped within a second.
 * - 1 a second after that: a guesser gets 3,600 tries an hour per address
 *   instead of thousands a second, and each address can make the gateway
 *   pay at most one bcrypt (some 70 ms of CPU at cost 10) a second per
 *   route: 7% of a core, where unlimited it could take them all.
 * - A client that ran out waits about a second (Retry-After: 1) for its next
 *   try, so people behind one NAT address who fail now and then are not
 *   locked out for long by one another.
 */
export const FAILURE_LIMIT: FailureLimitSettings = { rps: 1, burst: 10 };

/** How often, at most, a route logs the clients its failure limit refuses. */
const LOG_EVERY_MS = 1000;

function formatRate(rps: number): string {
  return rps.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * `auth.failureLimit` on one route: failed authentications (401s) are counted
 * per client address by GCRA (rate-limit/gcra.ts) in a bounded memory store
 * (rate-limit/store.ts), and a client with none left is refused with 429
 * `GW_ERR_RATE_LIMITED` and `Retry-After` before any credential is read:
 * no bcrypt, no JWT verification, no key lookup, so guessing is slow and a
 * flood of wrong passwords costs the gateway next to nothing. Only failures
 * count: a client that authenticates spends nothing, however often it calls.
 *
 * A failure is charged when it happens, even past the allowance (checks that
 * were already running when the allowance ran out): the client then waits
 * until the rate has paid every one of them off, so sending many guesses at
 * once buys no more than sending them one by one.
 *
 * A 403 (valid credentials, a consumer the route does not `allow`) is not a
 * failure: the client guessed nothing, it proved it holds a credential, and
 * a cached success costs no bcrypt again; counting it would only let one
 * consumer lock out others behind the same address.
 *
 * Lockouts are logged at most once a second per route: the first at once
 * (`listener web, route login: 10 failed logins from 203.0.113.7; refused
 * for 1 s (failureLimit 1/s, burst 10)`), then what came meanwhile in one
 * line a second, while it goes on.
 */
export class FailureLimiter {
  /** Failures by client address: kept by a reload that keeps the route's failureLimit. */
  private readonly store: MemoryRateLimitStore;
  private readonly policy: GcraPolicy;
  private readonly clock: Clock;
  private readonly where: string;
  private readonly log: (line: string) => void;
  /** `failureLimit 1/s, burst 10`, for log lines and the 429's reason. */
  private readonly text: string;
  private readonly reason: string;
  /** Set while a log line went out less than LOG_EVERY_MS ago. */
  private timer: NodeJS.Timeout | undefined = undefined;
  /** Since the last line: clients that ran out, requests refused, the last refused address. */
  private lockouts = 0;
  private refused = 0;
  private lastIp = '';

  constructor(
    settings: FailureLimitSettings,
    where: string,
    deps: Pick<FeatureDeps, 'clock' | 'sweeper' | 'log' | 'keep'>,
  ) {
    const { clock, sweeper } = deps;
    // The same limit on the same route in the next config keeps who has failed how often.
    this.store = deps.keep(`${where} failures ${settings.rps}/${settings.burst}`, () =>
      sweptStore(sweeper, clock),
    );
    this.policy = gcraPolicy(settings.rps, settings.burst);
    this.clock = deps.clock;
    this.where = where;
    this.log = deps.log;
    this.text = `failureLimit ${formatRate(settings.rps)}/s, burst ${settings.burst}`;
    this.reason = `too many failed logins from this client (${this.text})`;
  }

  /** Keys (client addresses) held now; for tests. */
  get size(): number {
    return this.store.size;
  }

  /**
   * Before any credential is looked at: a rejected 429 (with Retry-After) when
   * the exchange's client has no failures left, else undefined.
   */
  refuse(ex: Exchange): Promise<never> | undefined {
    const state = this.store.peek(ex.clientIp, this.nowUs(), this.policy);
    if (state.allowed) return undefined;
    addReplyField(ex, 'retry-after', String(ceilSeconds(state.retryAfterUs)));
    traceStep(ex, `auth: refused before checking, ${this.reason}`);
    this.refused++;
    this.lastIp = ex.clientIp;
    this.timer ??= setTimeout(this.flush, LOG_EVERY_MS).unref();
    return Promise.reject(rateLimited(this.reason));
  }

  /** Counts a failed authentication (a 401) of the exchange's client. */
  failed(ex: Exchange): void {
    const ip = ex.clientIp;
    const nowUs = this.nowUs();
    const wasOpen = this.store.peek(ip, nowUs, this.policy).allowed;
    const next = this.store.charge(ip, nowUs, this.policy);
    if (!wasOpen || next.allowed) return;
    // This failure used the client's last one: it is locked out from now.
    if (this.timer !== undefined) {
      this.lockouts++;
      return;
    }
    const failures = Math.ceil(next.resetUs / this.policy.intervalUs);
    this.log(
      `${this.where}: ${plural(failures, 'failed login', 'failed logins')} from ${ip}; refused for ${ceilSeconds(next.retryAfterUs)} s (${this.text})`,
    );
    this.timer = setTimeout(this.flush, LOG_EVERY_MS).unref();
  }

  /** Ends any pending log line (the config was replaced; the counts may live on). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** What was held back since the last line, in one line; quiet once nothing happens. */
  private readonly flush = (): void => {
    this.timer = undefined;
    const { lockouts, refused } = this;
    if (lockouts === 0 && refused === 0) return;
    this.lockouts = 0;
    this.refused = 0;
    const parts: string[] = [];
    if (refused > 0)
      parts.push(
        `${plural(refused, 'request', 'requests')} refused after failed logins (the last from ${this.lastIp})`,
      );
    if (lockouts > 0) parts.push(`${plural(lockouts, 'more client', 'more clients')} locked out`);
    this.log(`${this.where}: ${parts.join(', ')} in the last 1 s (${this.text})`);
    this.timer = setTimeout(this.flush, LOG_EVERY_MS).unref();
  };

  private nowUs(): number {
    return Math.floor(this.clock.nowMs() * 1000);
  }
}
