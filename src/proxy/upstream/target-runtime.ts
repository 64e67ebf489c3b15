import net, { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import { upstreamConnect, upstreamTimeout } from '../../shared/errors.js';
import type { HostPort, UpstreamTimeouts } from '../config/types.js';
import { H2Connection } from '../h2/connection.js';
import { H1Pool } from '../h1/upstream-pool.js';

/** How long an unused upstream HTTP/1.1 connection is kept (undici's default, under most servers' 5 s). */
const KEEP_ALIVE_MS = 4_000;
/**
 * HTTP/2 sockets towards one target, open or closing, at most: a target that
 * keeps refusing (GOAWAY at once) or limits its streams cannot make the pool
 * open connections without end. Closing ones count until destroyed (their
 * destroy deadline bounds that, see CLOSE_GRACE_MS in h2/connection.ts).
 */
export const MAX_H2_SOCKETS_PER_TARGET = 64;

/** How the upstream's connections to a target are made: its pools depend on these. */
export interface PoolSettings {
  readonly tls: boolean;
  readonly timeouts: UpstreamTimeouts;
}

function samePoolSettings(a: PoolSettings, b: PoolSettings): boolean {
  return (
    a.tls === b.tls &&
    a.timeouts.connectMs === b.timeouts.connectMs &&
    a.timeouts.headerMs === b.timeouts.headerMs &&
    a.timeouts.idleMs === b.timeouts.idleMs
  );
}

/**
 * One target of one upstream and everything the gateway keeps about it:
 * exchanges in flight, its HTTP/1.1 keep-alive pool and HTTP/2 connections,
 * and (with health and breakers) whether it may serve. It belongs to the
 * target registry, not to one config: a reload that keeps the target keeps
 * this object, so least-conn's counts, warm connections and (later) health
 * and ejection carry over. A target the reload removes is drained: it gets
 * no new exchange, those in flight finish, then its connections close.
 */
export class TargetRuntime {
  readonly id: string;
  readonly address: HostPort;
  /** Relative weight, as the current config gives it. */
  weight: number;
  /** Exchanges (requests, upgrades, calls, TCP sessions) in flight now. */
  active = 0;
  /** Total exchanges sent to it, for status and tests. */
  served = 0;
  /** Removed from its upstream: it finishes what it has and gets nothing new. */
  drained = false;
  /**
   * Active health checks' verdict: true until a checker says otherwise (an
   * upstream without checks keeps every target healthy).
   */
  healthy = true;
  /** Passive ejection (outlier detection): out of service until this time (monotonic ms); 0 when not ejected. */
  ejectedUntilMs = 0;
  /**
   * Its own circuit breaker (`circuitBreaker.perTarget`) is open: out of
   * service until the breaker turns half-open (breaker/target-breakers.ts).
   */
  circuitOpen = false;
  private settings: PoolSettings;
  private pool: H1Pool | undefined;
  /** HTTP/2 connections: more than one when the target limits its streams. */
  private readonly h2: H2Entry[] = [];
  private readonly connections = new Set<H2Connection>();
  /** HTTP/2 sockets from connect until closed. */
  private h2Sockets = 0;

  constructor(id: string, address: HostPort, weight: number, settings: PoolSettings) {
    this.id = id;
    this.address = address;
    this.weight = weight;
    this.settings = settings;
  }

  /**
   * May get new exchanges: healthy, not ejected at `nowMs`, its circuit not
   * open. Whether it does is the upstream's call
   * (`UpstreamState.refreshAvailability`, panic mode).
   */
  availableAt(nowMs: number): boolean {
    return this.healthy && !this.circuitOpen && this.ejectedUntilMs <= nowMs;
  }

  /**
   * Takes the upstream's connection settings for new connections; when they
   * changed, the connections made with the old ones are drained (their
   * exchanges finish) and new ones are made as needed.
   */
  configure(weight: number, settings: PoolSettings): void {
    this.weight = weight;
    this.drained = false;
    if (samePoolSettings(this.settings, settings)) return;
    this.settings = settings;
    void this.closeConnections();
  }

  /** The keep-alive HTTP/1.1 pool towards the target. */
  h1Pool(): H1Pool {
    if (this.pool === undefined) {
      const { timeouts } = this.settings;
      this.pool = new H1Pool({
        host: this.address.host,
        port: this.address.port,
        tls: this.settings.tls,
        connectMs: timeouts.connectMs,
        headerMs: timeouts.headerMs,
        idleMs: timeouts.idleMs,
        keepAliveMs: KEEP_ALIVE_MS,
      });
    }
    return this.pool;
  }

  /**
   * A connected HTTP/2 connection towards the target (prior knowledge h2c, or
   * TLS with ALPN h2), shared by every gRPC call to it. A connection that
   * closes, receives GOAWAY or runs out of streams is replaced for the next
   * call. Rejects with GW_ERR_UPSTREAM_CONNECT or a connect timeout.
   */
  async h2Connection(): Promise<H2Connection> {
    let pending: H2Entry | undefined;
    for (const entry of this.h2) {
      const connection = entry.connection;
      if (connection === undefined) pending ??= entry;
      else if (connection.canOpen) return connection;
      else if (connection.exhausted) connection.goaway();
    }
    if (pending !== undefined) return pending.ready;
    // Every connection is busy up to the target's stream limit (or there is none): one more.
    if (this.h2Sockets >= MAX_H2_SOCKETS_PER_TARGET) {
      throw upstreamConnect(
        this.id,
        new Error(`${MAX_H2_SOCKETS_PER_TARGET} HTTP/2 connections to it are open or closing`),
      );
    }
    return this.newH2Entry().ready;
  }

  /** HTTP/2 sockets towards the target now, open or closing. */
  get h2SocketCount(): number {
    return this.h2Sockets;
  }

  /** Removes the target from service: nothing new is sent, what is in flight finishes. */
  drain(): Promise<void> {
    this.drained = true;
    return this.closeConnections();
  }

  /**
   * Closes every connection, letting exchanges in flight finish; with
   * `forceAfterMs` (shutting down), HTTP/2 connections still busy then are cut.
   * A drained target that is used again (an exchange pinned to the old config)
   * makes new connections, closed the same way after it by {@link afterExchange}.
   */
  async closeConnections(forceAfterMs?: number): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    const pending = this.h2.splice(0);
    // Connections still being made are closed as soon as they are up.
    await Promise.allSettled(pending.map((e) => e.ready));
    const connections = [...this.connections];
    await Promise.allSettled([
      pool?.close(),
      ...connections.map((connection) => goawayAndWait(connection, forceAfterMs)),
    ]);
  }

  /** After an exchange on a drained target: whatever it opened closes once idle. */
  afterExchange(): void {
    if (this.drained && this.active === 0) void this.closeConnections();
  }

  private newH2Entry(): H2Entry {
    const list = this.h2;
    const entry: H2Entry = {
      ready: this.connectH2(() => {
        const at = list.indexOf(entry);
        if (at >= 0) list.splice(at, 1);
      }),
    };
    void entry.ready.then(
      (connection) => {
        entry.connection = connection;
      },
      () => undefined,
    );
    list.push(entry);
    return entry;
  }

  private connectH2(forget: () => void): Promise<H2Connection> {
    const { connectMs } = this.settings.timeouts;
    const { host, port } = this.address;
    const secure = this.settings.tls;
    const id = this.id;
    return new Promise((resolve, reject) => {
      const secureSocket = secure
        ? tls.connect({
            host,
            port,
            ALPNProtocols: ['h2'],
            ...(isIP(host) === 0 ? { servername: host } : {}),
          })
        : undefined;
      const socket: Socket = secureSocket ?? net.connect({ host, port });
      this.h2Sockets++;
      socket.once('close', () => this.h2Sockets--);
      socket.setNoDelay(true);
      // An idle connection must not keep the process alive.
      socket.unref();
      const timer = setTimeout(() => {
        forget();
        socket.destroy();
        reject(upstreamTimeout(id, 'connect', connectMs));
      }, connectMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        forget();
        reject(upstreamConnect(id, err));
      });
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        if (secureSocket !== undefined && secureSocket.alpnProtocol !== 'h2') {
          clearTimeout(timer);
          forget();
          socket.destroy();
          reject(upstreamConnect(id, new Error('the target did not agree to HTTP/2 (ALPN h2)')));
          return;
        }
        const connection = new H2Connection(socket, {
          role: 'client',
          onClose: (c) => {
            forget();
            this.connections.delete(c);
          },
          onGoaway: forget,
        });
        this.connections.add(connection);
        // Ready once the target's SETTINGS came: its stream limit is known before calls go out.
        connection.onSettled = () => {
          clearTimeout(timer);
          resolve(connection);
        };
        // A target that closes before its SETTINGS refused the connection: another may be tried.
        socket.once('close', () => {
          if (connection.settled) return;
          clearTimeout(timer);
          reject(upstreamConnect(id, new Error('the target closed the connection at once')));
        });
      });
    });
  }
}

interface H2Entry {
  readonly ready: Promise<H2Connection>;
  connection?: H2Connection;
}

/** GOAWAY: calls in flight finish, then the connection ends; cut after `forceAfterMs` if given. */
function goawayAndWait(connection: H2Connection, forceAfterMs: number | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (connection.closed) {
      resolve();
      return;
    }
    const timer =
      forceAfterMs === undefined
        ? undefined
        : setTimeout(() => connection.destroy('the gateway is shutting down'), forceAfterMs);
    connection.socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    connection.goaway();
  });
}
