import { GwError, isGwError } from '../shared/errors.js';
import { formatHostPort } from '../shared/format.js';
import type { ListenerConfig, ProxyConfig } from './config/types.js';
import { startGrpcListener } from './listeners/grpc-listener.js';
import { startHttpListener } from './listeners/http-listener.js';
import type { RunningListener } from './listeners/listen.js';
import { startTcpListener } from './listeners/tcp-listener.js';
import type { LineSink } from './middleware/access-log/access-log.js';
import { StateShelf } from './middleware/state-shelf.js';
import type { L4Exchange, Middleware } from './pipeline/types.js';
import type { RouteConfig } from './config/types.js';
import { GatewayRuntime, type RuntimeDeps, type RuntimeRef } from './runtime.js';
import { TargetRegistry } from './upstream/target-registry.js';
import { StoreConnections } from './store/shared-store.js';

export interface GatewayOptions {
  /** Where access-log lines go (one per request, call or TCP connection). */
  readonly accessLog: LineSink;
  /**
   * The hint for a listen address already in use, given the listener and
   * its port. Default: change that listener's `listen:` in the config (gw
   * proxy has no port flag); gw demo names its `--base-port`.
   */
  readonly portInUseHint?: (port: number, listener: string) => string;
  /**
   * Extra middleware for a route, run after its configured features: for
   * programs that embed the gateway, and for tests. Called once per route
   * each time a config is loaded.
   */
  readonly routeMiddleware?: (listener: string, route: RouteConfig) => Middleware | undefined;
  /** Extra middleware for a tcp listener's connections, after its features (see routeMiddleware). */
  readonly tcpMiddleware?: (listener: string) => Middleware<L4Exchange> | undefined;
}

function configPortHint(port: number, listener: string): string {
  return `stop the process holding it (ss -ltnp 'sport = :${port}' shows which), or change listen: of listener ${listener} in the config`;
}

/** A running gateway: its listeners and the runtime they read. */
export interface Gateway {
  readonly listeners: readonly RunningListener[];
  readonly ref: RuntimeRef;
  /** Upstream and target state that lasts across reloads. */
  readonly registry: TargetRegistry;
  /**
   * Swaps in a new config for the next request, atomically: listeners keep
   * their sockets, requests in flight finish on the config they were routed
   * with, targets and upstreams that remain keep their state and connections,
   * limits set as before at the same place keep their counts (see
   * FeatureDeps.keep), and the promise resolves once what the new config
   * dropped has drained. The listener set itself (names, addresses,
   * protocols) must be unchanged; changing it needs a restart.
   */
  swap(config: ProxyConfig): Promise<void>;
  /** Stops accepting, gives requests in flight `graceMs`, then closes everything. */
  close(graceMs?: number): Promise<void>;
}

/** How long upstream HTTP/2 sessions may take to close once the listeners are closed. */
const UPSTREAM_CLOSE_MS = 1000;

/**
 * Starts every listener of a validated config. If one cannot bind, the ones
 * already started are closed and the error (GW_ERR_PORT_IN_USE, say) is
 * thrown: the gateway runs whole or not at all.
 */
export async function startGateway(config: ProxyConfig, options: GatewayOptions): Promise<Gateway> {
  const registry = new TargetRegistry(options.accessLog);
  const deps: RuntimeDeps = {
    sink: options.accessLog,
    registry,
    shelf: new StateShelf(),
    ...(options.routeMiddleware === undefined ? {} : { routeMiddleware: options.routeMiddleware }),
    ...(options.tcpMiddleware === undefined ? {} : { tcpMiddleware: options.tcpMiddleware }),
  };
  // The Redis of the top-level `store`: one connection, kept while reloads keep its URL.
  const stores = new StoreConnections(registry.log);
  /** The runtime of `next`; if it cannot be built, the store of `inForce` is all that stays. */
  const runtimeFor = (next: ProxyConfig, inForce: ProxyConfig | undefined): GatewayRuntime => {
    const sharedStore = stores.use(next.store);
    try {
      return new GatewayRuntime(next, sharedStore === undefined ? deps : { ...deps, sharedStore });
    } catch (err) {
      stores.settle(inForce?.store);
      throw err;
    }
  };
  const ref: RuntimeRef = { current: runtimeFor(config, undefined) };
  // Discovered targets (and Redis) before the first request (each wait is bounded).
  await Promise.all([registry.ready(), stores.ready()]);
  const listeners: RunningListener[] = [];
  try {
    for (const listener of config.listeners) {
      listeners.push(
        await startListener(listener, ref, options.accessLog).catch((err: unknown) => {
          throw portHint(err, listener, options.portInUseHint ?? configPortHint);
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled(listeners.map((l) => l.close(0)));
    ref.current.retire();
    stores.close();
    await registry.close(0);
    throw err;
  }
  return {
    listeners,
    ref,
    registry,
    async swap(next) {
      const runtime = runtimeFor(next, ref.current.config);
      const previous = ref.current;
      ref.current = runtime;
      previous.retire();
      // A store whose URL changed: the old connection goes once nothing new can use it.
      stores.settle(next.store);
      await runtime.drained;
    },
    async close(graceMs = 5000) {
      await Promise.allSettled(listeners.map((l) => l.close(graceMs)));
      ref.current.retire();
      stores.close();
      // The listeners gave requests in flight their grace; upstream sessions get a last second.
      await registry.close(UPSTREAM_CLOSE_MS);
    },
  };
}

/** A port-in-use error with the hint that fits the command (others unchanged). */
function portHint(
  err: unknown,
  listener: ListenerConfig,
  hint: (port: number, listener: string) => string,
): unknown {
  if (!isGwError(err, 'GW_ERR_PORT_IN_USE')) return err;
  const { host, port } = listener.listen;
  return new GwError(
    err.code,
    `listener ${listener.name}: cannot listen on ${formatHostPort(host, port)}: the address is already in use`,
    {
      hint: hint(port, listener.name),
      cause: err.cause,
      exitCode: err.exitCode,
      httpStatus: err.httpStatus,
    },
  );
}

function startListener(
  config: ListenerConfig,
  ref: RuntimeRef,
  sink: LineSink,
): Promise<RunningListener> {
  switch (config.protocol) {
    case 'http':
      return startHttpListener(config, ref, sink);
    case 'grpc':
      return startGrpcListener(config, ref, sink);
    case 'tcp':
      return startTcpListener(config, ref, sink);
  }
}
