import { RedisConnection } from './redis-connection.js';
import type { StoreSettings } from './schema.js';

/** What a config's limits kept in Redis use: the store's settings and the gateway's connection. */
export interface SharedStore {
  readonly settings: StoreSettings;
  readonly connection: RedisConnection;
}

/** How long a gateway's start waits for its first connection to Redis before serving anyway. */
export const STORE_START_WAIT_MS = 1000;

/**
 * The gateway's connections to shared stores, lasting across config loads
 * (one at a time in practice: one top-level `store` per config). A config
 * whose `store.redis` URL is the one in use gets the same connection, its
 * other settings (failure mode, timeout) applied; a new URL gets a new
 * connection, and the old one is closed once the new config is in force.
 */
export class StoreConnections {
  private readonly connections = new Map<string, RedisConnection>();
  private readonly log: (line: string) => void;

  constructor(log: (line: string) => void) {
    this.log = log;
  }

  /** The shared store for a config's `store` (undefined: none), connecting if it is new. */
  use(settings: StoreSettings | undefined): SharedStore | undefined {
    if (settings === undefined) return undefined;
    let connection = this.connections.get(settings.redis.url);
    if (connection === undefined) {
      connection = new RedisConnection(settings.redis, settings, this.log);
      this.connections.set(settings.redis.url, connection);
    }
    return { settings, connection };
  }

  /**
   * Once a config is in force (or a new one failed to build): its store's
   * connection takes its settings (timeout, failure mode); every other
   * connection is closed.
   */
  settle(inForce: StoreSettings | undefined): void {
    const keep = inForce?.redis.url;
    for (const [url, connection] of this.connections) {
      if (url !== keep) {
        this.connections.delete(url);
        connection.close();
      }
    }
    if (inForce !== undefined) this.connections.get(inForce.redis.url)?.configure(inForce);
  }

  /** Resolves once every connection made its first attempt, or after STORE_START_WAIT_MS. */
  async ready(): Promise<void> {
    await Promise.all([...this.connections.values()].map((c) => c.ready(STORE_START_WAIT_MS)));
  }

  close(): void {
    this.settle(undefined);
  }
}
