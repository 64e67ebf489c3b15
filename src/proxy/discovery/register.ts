import type { Etcd3, Lease } from 'etcd3';
import { etcdClient } from './etcd-client.js';

/** A backend's registration in etcd, kept alive until closed. */
export interface Registration {
  /** The key written: PREFIX + name. */
  readonly key: string;
  /** Resolves once the key is written the first time. */
  readonly ready: Promise<void>;
  /** Deletes the key (revokes the lease) and closes the client. */
  close(): Promise<void>;
}

export interface RegisterOptions {
  readonly endpoint: string;
  readonly prefix: string;
  readonly name: string;
  /** `host:port` the gateway should connect to. */
  readonly address: string;
  /** Lease TTL in seconds (default 5): how long a crashed backend stays listed. */
  readonly ttlSeconds?: number;
  readonly log: (line: string) => void;
}

/** How long to wait before granting a lease again after etcd was unreachable. */
const REGRANT_MS = 1000;

/**
 * Registers `{ address, weight: 1 }` under PREFIX+name with a lease that the
 * client keeps alive (etcd3 sends keep-alives at a third of the TTL), so a
 * backend that crashes disappears when its lease expires. A lost lease
 * (etcd unreachable longer than the TTL) is granted again once etcd answers.
 */
export function registerInEtcd(options: RegisterOptions): Registration {
  const client: Etcd3 = etcdClient([options.endpoint]);
  const key = options.prefix + options.name;
  const value = JSON.stringify({ address: options.address, weight: 1 });
  const ttl = options.ttlSeconds ?? 5;
  let lease: Lease | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let firstDone: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => (firstDone = resolve));
  let down = false;

  const grant = (): void => {
    if (closed) return;
    const current = client.lease(ttl);
    lease = current;
    current.on('lost', (err: Error) => {
      if (closed || lease !== current) return;
      options.log(`etcd lease lost (${err.message.split('\n')[0] ?? ''}); registering again`);
      retry = setTimeout(grant, REGRANT_MS);
    });
    current
      .put(key)
      .value(value)
      .exec()
      .then(
        () => {
          options.log(`registered ${key} → ${options.address} (lease ${ttl} s)`);
          down = false;
          firstDone?.();
          firstDone = undefined;
        },
        (err: unknown) => {
          if (!down)
            options.log(`cannot register in etcd (${String(err).split('\n')[0] ?? ''}); retrying`);
          down = true;
          // The lease emits 'lost' when its grant failed; grant again from there.
        },
      );
  };
  grant();

  return {
    key,
    ready,
    async close() {
      closed = true;
      clearTimeout(retry);
      // Revoking the lease deletes the key at once; bounded, etcd may be gone.
      await Promise.race([
        lease?.revoke().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 1000).unref()),
      ]);
      client.close();
    },
  };
}
