import { Redis } from 'ioredis';
import { errnoOf } from '../../shared/errors.js';
import type { FailureMode, RedisAddress, StoreSettings } from './schema.js';

/** Reconnection backoff: 50 ms doubling to at most this, for as long as Redis is away. */
const RETRY_MAX_MS = 1000;
const RETRY_FIRST_MS = 50;
/** How long a TCP connect to Redis may take before the attempt counts as failed. */
const CONNECT_TIMEOUT_MS = 2000;
/** While Redis is connected but not answering (stopped, overloaded): how often it is asked again. */
const PROBE_MS = 500;
/** How many different errors answered by Redis are logged, at most (each once). */
const MAX_REPLY_ERRORS_LOGGED = 10;

/** Calls a script defined on the connection: its keys, then its arguments. */
export type ScriptCall = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

type State = 'connecting' | 'up' | 'down';

/**
 * The gateway's one connection to the Redis of the top-level `store`, shared
 * by every limit kept there, and whether it can be used right now.
 *
 * The client is ioredis 5 (Node 20 and later), configured so that nothing
 * waits on a Redis that is away: no offline queue (a command while
 * disconnected fails at once), no retry or resend of a command the
 * connection lost, and every command bounded by `timeoutMs`. It reconnects
 * on its own, with a backoff from 50 ms doubling to 1 s.
 *
 * The connection is `up` from the moment it is ready until it closes, a
 * command times out or fails for want of a connection; then `down` until
 * ioredis is ready again (after a reconnect) or, when the connection stayed
 * open (a stopped server), until a PING every 500 ms is answered. Each change
 * is logged once: `store redis://127.0.0.1:6379/0: unreachable
 * (ECONNREFUSED); limiting locally (failureMode open)`, then `… reachable
 * again; limits shared`. Callers ask {@link up} before sending and tell
 * {@link failed} about a command that failed.
 */
export class RedisConnection {
  /** The URL without credentials, for log lines. */
  readonly name: string;
  /** Counts the times it came up: what a limiter learnt from Redis before the last one is stale. */
  generation = 0;
  private readonly client: Redis;
  private readonly log: (line: string) => void;
  private readonly defined = new Set<string>();
  /** The messages of errors Redis answered that were logged (each once). */
  private readonly replyErrors = new Set<string>();
  private state: State = 'connecting';
  private failureMode: FailureMode = 'open';
  /** Why it is down (`ECONNREFUSED`, `no answer within 50 ms`), for log lines and 503s. */
  private lastReason = 'not connected yet';
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;
  private readonly settled: Promise<void>;
  private settle: () => void = () => undefined;

  constructor(address: RedisAddress, settings: StoreSettings, log: (line: string) => void) {
    this.name = address.name;
    this.log = log;
    this.failureMode = settings.failureMode;
    this.settled = new Promise((resolve) => (this.settle = resolve));
    this.client = new Redis({
      host: address.host,
      port: address.port,
      db: address.db,
      ...(address.username === undefined ? {} : { username: address.username }),
      ...(address.password === undefined ? {} : { password: address.password }),
      connectionName: 'gw',
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // Commands issued in one turn of the event loop go out in one write.
      enableAutoPipelining: true,
      commandTimeout: settings.timeoutMs,
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (times: number) => Math.min(RETRY_FIRST_MS * 2 ** (times - 1), RETRY_MAX_MS),
    });
    this.client.on('ready', () => this.markUp());
    this.client.on('error', (err: unknown) => this.markDown(reasonOf(err)));
    this.client.on('close', () =>
      this.markDown(this.state === 'up' ? 'connection closed' : this.lastReason),
    );
    // A failed first connect is reported through 'error' and retried by ioredis itself.
    this.client.connect().catch(() => undefined);
  }

  /** True while commands may be sent. */
  get up(): boolean {
    return this.state === 'up';
  }

  /** Why it is down, for a refusal's message. */
  get reason(): string {
    return this.lastReason;
  }

  /** Takes a reloaded config's failure mode (for log lines) and timeout. */
  configure(settings: StoreSettings): void {
    this.failureMode = settings.failureMode;
    this.client.options.commandTimeout = settings.timeoutMs;
  }

  /**
   * Defines a Lua script under `name` (once per connection) and returns its
   * caller. ioredis's `defineCommand` sends EVALSHA, and EVAL instead on a
   * connection that has not loaded it yet or answers NOSCRIPT (after a
   * restart or SCRIPT FLUSH), so the script is sent in full once per
   * connection and by its SHA-1 after that.
   */
  script(name: string, lua: string, numberOfKeys: number): ScriptCall {
    if (!this.defined.has(name)) {
      this.client.defineCommand(name, { lua, numberOfKeys });
      this.defined.add(name);
    }
    const call = (this.client as unknown as Record<string, ScriptCall>)[name];
    if (call === undefined) throw new Error(`script ${name} was not defined`);
    return call.bind(this.client);
  }

  /**
   * A command on this connection failed with `err`. An error Redis answered
   * (a ReplyError such as WRONGTYPE) says nothing about the connection;
   * anything else (a timeout, a lost connection) takes it down until Redis
   * answers again.
   */
  failed(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof Error && err.name === 'ReplyError') {
      // Say it once per kind (WRONGTYPE: a key of gw's prefix holds something else).
      if (this.replyErrors.size < MAX_REPLY_ERRORS_LOGGED && !this.replyErrors.has(message)) {
        this.replyErrors.add(message);
        this.log(`store ${this.name}: Redis refused a rate-limit decision: ${message}`);
      }
      return;
    }
    // Once down, the reason stays the one that took it down (or the reconnect's errors).
    if (this.state === 'down') return;
    this.markDown(
      /timed out/i.test(message)
        ? `no answer within ${this.client.options.commandTimeout ?? 0} ms`
        : reasonOf(err),
    );
    if (this.client.status === 'ready') this.startProbe();
  }

  /** Resolves once the first connect succeeded or failed, or after `ms`. */
  async ready(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.settled,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
  }

  /** Closes the connection at once; commands in flight fail (and their limits apply locally). */
  close(): void {
    this.closed = true;
    this.state = 'down';
    this.lastReason = 'connection closed';
    this.stopProbe();
    this.client.disconnect();
  }

  private markUp(): void {
    this.stopProbe();
    if (this.closed || this.state === 'up') return;
    const first = this.state === 'connecting';
    this.state = 'up';
    this.generation++;
    this.settle();
    this.log(`store ${this.name}: ${first ? 'connected' : 'reachable again'}; limits shared`);
  }

  private markDown(reason: string): void {
    this.lastReason = reason;
    if (this.closed || this.state === 'down') return;
    this.state = 'down';
    this.settle();
    const meanwhile =
      this.failureMode === 'open'
        ? 'limiting locally (failureMode open)'
        : 'refusing rate-limited requests with 503 (failureMode closed)';
    this.log(`store ${this.name}: unreachable (${reason}); ${meanwhile}`);
  }

  private startProbe(): void {
    if (this.probeTimer !== undefined) return;
    this.probeTimer = setInterval(() => {
      if (this.probing) return;
      // Reconnected meanwhile: the 'ready' event brings it up, no probe needed.
      if (this.client.status !== 'ready') return;
      this.probing = true;
      this.client.ping().then(
        () => {
          this.probing = false;
          this.markUp();
        },
        () => (this.probing = false),
      );
    }, PROBE_MS).unref();
  }

  private stopProbe(): void {
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    this.probeTimer = undefined;
  }
}

/** `ECONNREFUSED` for a system error, else the message (ioredis's offline refusal: not connected). */
function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return errnoOf(err) ?? (message.includes('enableOfflineQueue') ? 'not connected' : message);
}
