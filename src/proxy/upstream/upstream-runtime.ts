import net, { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import { upstreamConnect, upstreamTimeout } from '../../shared/errors.js';
import { createBalancer } from '../balancers/index.js';
import type { Balancer } from '../balancers/types.js';
import type { HostPort, TargetConfig, UpstreamConfig } from '../config/types.js';
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
const MAX_H2_SOCKETS_PER_TARGET = 64;

/** A target with its live state: requests in flight and its connection pool. */
export interface TargetRuntime {
  readonly id: string;
  readonly weight: number;
  readonly address: HostPort;
  /** Requests (or connections, or calls) in flight now. */
  active: number;
  /** Total exchanges sent to it, for status and tests. */
  served: number;
}

/**
 * One upstream as the data plane uses it: its targets, its balancer, and the
 * keep-alive HTTP pools towards each target (created on first use). Built
 * once per config load; `close` drains it after a reload swapped it out.
 */
export class UpstreamRuntime {
  readonly config: UpstreamConfig;
  readonly targets: readonly TargetRuntime[];
  private readonly balancer: Balancer<TargetRuntime>;
  private readonly byId: Map<string, TargetRuntime>;
  private readonly pools = new Map<string, H1Pool>();
  /** HTTP/2 connections per target: more than one when the target limits its streams. */
  private readonly h2 = new Map<string, H2Entry[]>();
  private readonly connections = new Set<H2Connection>();
  /** HTTP/2 sockets per target id from connect until closed. */
  private readonly h2Sockets = new Map<string, number>();

  constructor(config: UpstreamConfig) {
    this.config = config;
    this.targets = config.targets.map(toRuntime);
    this.byId = new Map(this.targets.map((t) => [t.id, t]));
    this.balancer = createBalancer(config.balance, this.targets, {
      load: (id) => this.byId.get(id)?.active ?? 0,
    });
  }

  /** Chooses a target for one exchange, skipping those in `exclude`. */
  pick(key: string | undefined, exclude?: ReadonlySet<string>): TargetRuntime | undefined {
    return this.balancer.pick(key === undefined ? {} : { key }, exclude);
  }

  /** The keep-alive HTTP/1.1 pool towards a target. */
  h1Pool(target: TargetRuntime): H1Pool {
    let pool = this.pools.get(target.id);
    if (pool === undefined) {
      const { timeouts } = this.config;
      pool = new H1Pool({
        host: target.address.host,
        port: target.address.port,
        tls: this.config.tls,
        connectMs: timeouts.connectMs,
        headerMs: timeouts.headerMs,
        idleMs: timeouts.idleMs,
        keepAliveMs: KEEP_ALIVE_MS,
      });
      this.pools.set(target.id, pool);
    }
    return pool;
  }

  /**
   * A connected HTTP/2 connection towards a target (prior knowledge h2c, or
   * TLS with ALPN h2), shared by every gRPC call to it. A connection that
   * closes, receives GOAWAY or runs out of streams is replaced for the next
   * call. Rejects with GW_ERR_UPSTREAM_CONNECT or a connect timeout.
   */
  async h2Connection(target: TargetRuntime): Promise<H2Connection> {
    let list = this.h2.get(target.id);
    if (list === undefined) {
      list = [];
      this.h2.set(target.id, list);
    }
    let pending: H2Entry | undefined;
    for (const entry of list) {
      const connection = entry.connection;
      if (connection === undefined) pending ??= entry;
      else if (connection.canOpen) return connection;
      else if (connection.exhausted) connection.goaway();
    }
    if (pending !== undefined) return pending.ready;
    // Every connection is busy up to the target's stream limit (or there is none): one more.
    if (this.h2SocketCount(target.id) >= MAX_H2_SOCKETS_PER_TARGET) {
      throw upstreamConnect(
        target.id,
        new Error(`${MAX_H2_SOCKETS_PER_TARGET} HTTP/2 connections to it are open or closing`),
      );
    }
    return this.newH2Entry(target, list).ready;
  }

  /** HTTP/2 sockets towards a target (or all targets) now, open or closing. */
  h2SocketCount(targetId?: string): number {
    if (targetId !== undefined) return this.h2Sockets.get(targetId) ?? 0;
    let n = 0;
    for (const count of this.h2Sockets.values()) n += count;
    return n;
  }

  private countH2Socket(targetId: string, delta: number): void {
    const n = (this.h2Sockets.get(targetId) ?? 0) + delta;
    if (n > 0) this.h2Sockets.set(targetId, n);
    else this.h2Sockets.delete(targetId);
  }

  private newH2Entry(target: TargetRuntime, list: H2Entry[]): H2Entry {
    const entry: H2Entry = {
      ready: this.connectH2(target, () => {
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

  private connectH2(target: TargetRuntime, forget: () => void): Promise<H2Connection> {
    const { connectMs } = this.config.timeouts;
    const { host, port } = target.address;
    const secure = this.config.tls;
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
      this.countH2Socket(target.id, 1);
      socket.once('close', () => this.countH2Socket(target.id, -1));
      socket.setNoDelay(true);
      // An idle connection must not keep the process alive.
      socket.unref();
      const timer = setTimeout(() => {
        forget();
        socket.destroy();
        reject(upstreamTimeout(target.id, 'connect', connectMs));
      }, connectMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        forget();
        reject(upstreamConnect(target.id, err));
      });
      socket.once(secure ? 'secureConnect' : 'connect', () => {
        if (secureSocket !== undefined && secureSocket.alpnProtocol !== 'h2') {
          clearTimeout(timer);
          forget();
          socket.destroy();
          reject(
            upstreamConnect(target.id, new Error('the target did not agree to HTTP/2 (ALPN h2)')),
          );
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
          reject(upstreamConnect(target.id, new Error('the target closed the connection at once')));
        });
      });
    });
  }

  /**
   * Closes every pool and connection, letting exchanges in flight finish;
   * with `forceAfterMs` (shutting down), HTTP/2 connections still busy then are cut.
   */
  async close(forceAfterMs?: number): Promise<void> {
    const pools = [...this.pools.values()];
    const pending = [...this.h2.values()].flat();
    this.pools.clear();
    this.h2.clear();
    // Connections still being made are closed as soon as they are up.
    await Promise.allSettled(pending.map((e) => e.ready));
    const connections = [...this.connections];
    await Promise.allSettled([
      ...pools.map((p) => p.close()),
      ...connections.map(
        (connection) =>
          new Promise<void>((resolve) => {
            if (connection.closed) {
              resolve();
              return;
            }
            connection.socket.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            // GOAWAY: calls in flight finish (a config swap), then the connection ends.
            const timer =
              forceAfterMs === undefined
                ? undefined
                : setTimeout(
                    () => connection.destroy('the gateway is shutting down'),
                    forceAfterMs,
                  );
            connection.goaway();
          }),
      ),
    ]);
  }
}

interface H2Entry {
  readonly ready: Promise<H2Connection>;
  connection?: H2Connection;
}

function toRuntime(target: TargetConfig): TargetRuntime {
  return { id: target.id, weight: target.weight, address: target.address, active: 0, served: 0 };
}
