import http2 from 'node:http2';
import { Pool } from 'undici';
import { upstreamConnect, upstreamTimeout } from '../../shared/errors.js';
import { formatHostPort } from '../../shared/format.js';
import { createBalancer } from '../balancers/index.js';
import type { Balancer } from '../balancers/types.js';
import type { HostPort, TargetConfig, UpstreamConfig } from '../config/types.js';

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
  private readonly pools = new Map<string, Pool>();
  private readonly sessions = new Map<string, Promise<http2.ClientHttp2Session>>();

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
  httpPool(target: TargetRuntime): Pool {
    let pool = this.pools.get(target.id);
    if (pool === undefined) {
      const { timeouts } = this.config;
      const scheme = this.config.tls ? 'https' : 'http';
      pool = new Pool(`${scheme}://${formatHostPort(target.address.host, target.address.port)}`, {
        connections: 256,
        pipelining: 1,
        connect: { timeout: timeouts.connectMs },
        headersTimeout: timeouts.headerMs,
        bodyTimeout: timeouts.idleMs,
        keepAliveTimeout: 4_000,
      });
      this.pools.set(target.id, pool);
    }
    return pool;
  }

  /**
   * A connected HTTP/2 session towards a target (prior knowledge h2c, or TLS
   * with ALPN h2), shared by every gRPC call to it. A session that closes or
   * receives GOAWAY is dropped, and the next call connects afresh. Rejects
   * with GW_ERR_UPSTREAM_CONNECT or a connect timeout.
   */
  h2Session(target: TargetRuntime): Promise<http2.ClientHttp2Session> {
    let session = this.sessions.get(target.id);
    if (session === undefined) {
      session = this.connectH2(target);
      this.sessions.set(target.id, session);
      session.catch(() => this.sessions.delete(target.id));
    }
    return session;
  }

  private connectH2(target: TargetRuntime): Promise<http2.ClientHttp2Session> {
    const { connectMs } = this.config.timeouts;
    const scheme = this.config.tls ? 'https' : 'http';
    return new Promise((resolve, reject) => {
      const session = http2.connect(
        `${scheme}://${formatHostPort(target.address.host, target.address.port)}`,
      );
      const timer = setTimeout(() => {
        session.destroy();
        reject(upstreamTimeout(target.id, 'connect', connectMs));
      }, connectMs);
      const forget = (): void => {
        const current = this.sessions.get(target.id);
        void current?.then(
          (s) => {
            if (s === session) this.sessions.delete(target.id);
          },
          () => undefined,
        );
      };
      session.once('connect', () => {
        clearTimeout(timer);
        resolve(session);
      });
      session.once('error', (err) => {
        clearTimeout(timer);
        forget();
        reject(upstreamConnect(target.id, err));
      });
      session.once('close', forget);
      session.once('goaway', forget);
      // An idle session must not keep the process alive.
      session.unref();
    });
  }

  /**
   * Closes every pool and session, letting exchanges in flight finish; with
   * `forceAfterMs` (shutting down), HTTP/2 sessions still busy then are cut.
   */
  async close(forceAfterMs?: number): Promise<void> {
    const pools = [...this.pools.values()];
    const sessions = [...this.sessions.values()];
    this.pools.clear();
    this.sessions.clear();
    await Promise.allSettled([
      ...pools.map((p) => p.close()),
      ...sessions.map(async (s) => {
        const session = await s;
        // close() waits for the streams still open: calls in flight finish (a config swap).
        await new Promise<void>((resolve) => {
          const timer =
            forceAfterMs === undefined
              ? undefined
              : setTimeout(() => {
                  session.destroy();
                  resolve();
                }, forceAfterMs);
          session.close(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }),
    ]);
  }
}

function toRuntime(target: TargetConfig): TargetRuntime {
  return { id: target.id, weight: target.weight, address: target.address, active: 0, served: 0 };
}
