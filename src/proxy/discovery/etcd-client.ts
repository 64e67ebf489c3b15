import { ExponentialBackoff, noop, type IBackoff } from 'cockatiel';
import { Etcd3 } from 'etcd3';

/**
 * An etcd v3 client for discovery and registration: no per-host circuit
 * breaker or retries of its own (the callers retry on their own clock and
 * say so in the log), calls bounded to a few seconds, and watch streams that
 * reconnect within two seconds once the server is back (the library's
 * default backoff grows to 30 s).
 */
export function etcdClient(endpoints: readonly string[]): Etcd3 {
  return new Etcd3({
    hosts: [...endpoints],
    dialTimeout: 2000,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 3000 }),
    faultHandling: {
      host: () => noop,
      global: noop,
      // The watch manager takes a backoff factory (it calls next() on it), though typed as a backoff.
      watchBackoff: new ExponentialBackoff({
        initialDelay: 100,
        maxDelay: 1000,
      }) as unknown as IBackoff<unknown>,
    },
  });
}
