import { ExponentialBackoff, handleWhen, noop, retry, type IBackoff } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';

/**
 * An etcd v3 client for discovery, registration and configs kept in etcd: no
 * per-host circuit breaker or retries of its own (the callers retry on their
 * own clock and say so in the log), calls bounded to a few seconds, and watch
 * streams that reconnect within two seconds once the server is back (the
 * library's default backoff grows to 30 s). With several endpoints (one
 * cluster), a call that cannot reach one member is tried once on each of the
 * others, in a shuffled order; watch streams pick another member on each
 * reconnect by themselves.
 */
export function etcdClient(endpoints: readonly string[]): Etcd3 {
  return new Etcd3({
    hosts: [...endpoints],
    dialTimeout: 2000,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 3000 }),
    faultHandling: {
      host: () => noop,
      global:
        endpoints.length > 1
          ? retry(handleWhen(isRecoverableError), { maxAttempts: endpoints.length - 1 })
          : noop,
      // The watch manager takes a backoff factory (it calls next() on it), though typed as a backoff.
      watchBackoff: new ExponentialBackoff({
        initialDelay: 100,
        maxDelay: 1000,
      }) as unknown as IBackoff<unknown>,
    },
  });
}
