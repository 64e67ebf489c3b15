import { configError, GwError, isGwError } from '../shared/errors.js';
import { formatHostPort } from '../shared/format.js';
import type { ListenerConfig, ProxyConfig } from './config/types.js';
import { startGrpcListener } from './listeners/grpc-listener.js';
import { startHttpListener } from './listeners/http-listener.js';
import type { ListenerChange, RunningListener } from './listeners/listen.js';
import { startTcpListener } from './listeners/tcp-listener.js';
import type { LineSink } from './middleware/access-log/access-log.js';
import { StateShelf } from './middleware/state-shelf.js';
import type { L4Exchange, Middleware } from './pipeline/types.js';
import type { RouteConfig } from './config/types.js';
import {
  GatewayRuntime,
  type PreparedRuntime,
  type RuntimeDeps,
  type RuntimeRef,
} from './runtime.js';
import { TargetRegistry } from './upstream/target-registry.js';
import { StoreConnections } from './store/shared-store.js';
import { planListeners, type ListenerPlan, type RunningEntry } from './reload/listener-plan.js';

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
  /**
   * The upstream state to use; default a new registry logging to `accessLog`.
   * A `--workers` worker passes one its primary controls (health, discovery).
   */
  readonly registry?: TargetRegistry;
}

function configPortHint(port: number, listener: string): string {
  return `stop the process holding it (ss -ltnp 'sport = :${port}' shows which), or change listen: of listener ${listener} in the config`;
}

/** A running gateway: its listeners and the runtime they read. */
export interface Gateway {
  /** The listeners of the config in force, in its order (a reload may change them). */
  readonly listeners: readonly RunningListener[];
  readonly ref: RuntimeRef;
  /** Upstream and target state that lasts across reloads. */
  readonly registry: TargetRegistry;
  /**
   * Puts a validated config in force in one step, or not at all. First what
   * may fail: its features are built, listeners that keep their socket read
   * their new settings (TLS files), and new addresses are bound (their
   * connections wait). Any failure rejects (GW_ERR_CONFIG naming the field,
   * GW_ERR_PORT_IN_USE) and the old config keeps serving, untouched. Then,
   * synchronously: the runtime is swapped for the next request, kept
   * listeners take their settings, new ones start serving, and removed or
   * moved ones stop accepting and drain for the new `shutdownTimeoutMs`.
   * Requests in flight finish on the config they were routed with; targets
   * and upstreams that remain keep their state (health, ejection, breakers)
   * and connections, and limits set as before at the same place keep their
   * counts (FeatureDeps.keep). Resolves once the new config serves; calls are applied
   * one at a time, in order.
   */
  apply(config: ProxyConfig): Promise<Applied>;
  /** {@link apply}, resolving once what the old config alone used has drained. */
  swap(config: ProxyConfig): Promise<void>;
  /** Stops accepting, gives requests in flight `graceMs`, then closes everything. */
  close(graceMs?: number): Promise<void>;
}

/** What a reload did to the listeners, and when the old config is gone. */
export interface Applied {
  /**
   * One phrase per listener opened, moved or closed, and per setting a live
   * socket could not take: `listener web moved to 127.0.0.1:8081`.
   */
  readonly listeners: readonly string[];
  /** Resolves once dropped targets and upstreams, and closed listeners, have drained. */
  readonly drained: Promise<void>;
}

/** How long upstream HTTP/2 sessions may take to close once the listeners are closed. */
const UPSTREAM_CLOSE_MS = 1000;

type Entry = RunningEntry<RunningListener>;

/**
 * Starts every listener of a validated config. If one cannot bind, the ones
 * already started are closed and the error (GW_ERR_PORT_IN_USE, say) is
 * thrown: the gateway runs whole or not at all.
 */
export async function startGateway(config: ProxyConfig, options: GatewayOptions): Promise<Gateway> {
  const registry = options.registry ?? new TargetRegistry(options.accessLog);
  const deps: RuntimeDeps = {
    sink: options.accessLog,
    registry,
    shelf: new StateShelf(),
    ...(options.routeMiddleware === undefined ? {} : { routeMiddleware: options.routeMiddleware }),
    ...(options.tcpMiddleware === undefined ? {} : { tcpMiddleware: options.tcpMiddleware }),
  };
  // The Redis of the top-level `store`: one connection, kept while reloads keep its URL.
  const stores = new StoreConnections(registry.log);
  /** The runtime deps of `next`, with its store's connection when it has one. */
  const depsFor = (next: ProxyConfig): RuntimeDeps => {
    const sharedStore = stores.use(next.store);
    return sharedStore === undefined ? deps : { ...deps, sharedStore };
  };
  let first: GatewayRuntime;
  try {
    first = new GatewayRuntime(config, depsFor(config));
  } catch (err) {
    // Whatever the build started (a Redis connection, sources of upstreams reconciled before a
    // later step failed) must not keep the process alive after a start that failed.
    stores.close();
    await registry.close(0);
    throw err;
  }
  const ref: RuntimeRef = { current: first };
  // Discovered targets (and Redis) before the first request (each wait is bounded).
  await Promise.all([registry.ready(), stores.ready()]);
  const hint = options.portInUseHint ?? configPortHint;
  const bind = (listener: ListenerConfig, held: boolean): Promise<RunningListener> =>
    startListener(listener, ref, options.accessLog, held).catch((err: unknown) => {
      throw portHint(err, listener, hint);
    });
  let entries: Entry[] = [];
  try {
    for (const listener of config.listeners) {
      entries.push({ config: listener, listener: await bind(listener, false) });
    }
  } catch (err) {
    await Promise.allSettled(entries.map((e) => e.listener.close(0)));
    ref.current.retire();
    stores.close();
    await registry.close(0);
    throw err;
  }
  /** Listeners a reload closed, still draining. */
  const draining = new Set<RunningListener>();
  let closed = false;
  /** The last reload applied or waiting; undefined when none is. */
  let queue: Promise<void> | undefined;

  const applyNow = async (next: ProxyConfig): Promise<Applied> => {
    if (closed) throw new Error('the gateway is closed');
    const plan = planListeners(entries, next.listeners);
    if (plan.issues.length > 0) throw configError(next.source, plan.issues);
    let prepared: PreparedRuntime;
    try {
      prepared = GatewayRuntime.prepare(next, depsFor(next));
    } catch (err) {
      // The store of the config in force is all that stays.
      stores.settle(ref.current.config.store);
      throw err;
    }
    const opened: Entry[] = [];
    let changes: ListenerChange[];
    try {
      changes = plan.keep.map(({ entry, config: c }) => prepareKept(entry, c, next));
      for (const { config: c } of plan.open)
        opened.push({ config: c, listener: await bind(c, true) });
    } catch (err) {
      await Promise.allSettled(opened.map((e) => e.listener.close(0)));
      prepared.abandon();
      stores.settle(ref.current.config.store);
      throw err;
    }
    // Nothing below fails: the new config takes over in one step, before any I/O is handled.
    const runtime = prepared.commit();
    const previous = ref.current;
    ref.current = runtime;
    for (const change of changes) change.apply();
    for (const e of opened) e.listener.open();
    const byName = new Map(
      [
        ...plan.keep.map(({ entry, config: c }) => ({ config: c, listener: entry.listener })),
        ...opened,
      ].map((e) => [e.config.name, e]),
    );
    entries = next.listeners.flatMap((l) => byName.get(l.name) ?? []);
    const leaving = [...plan.open.flatMap((o) => o.replaces ?? []), ...plan.removed];
    const closing = leaving.map(({ listener }) => {
      draining.add(listener);
      const done = listener.close(next.shutdownTimeoutMs);
      void done.then(() => draining.delete(listener));
      return done;
    });
    previous.retire();
    // A store whose URL changed: the old connection goes once nothing new can use it.
    stores.settle(next.store);
    return {
      listeners: [...listenerPhrases(plan, opened), ...changes.flatMap((change) => change.notes)],
      drained: Promise.allSettled([runtime.drained, ...closing]).then(() => undefined),
    };
  };

  const gateway: Gateway = {
    get listeners() {
      return entries.map((e) => e.listener);
    },
    ref,
    registry,
    apply(next) {
      // When none is in progress it starts at once: a reload that binds nothing is in force
      // when this returns.
      const applied = queue === undefined ? applyNow(next) : queue.then(() => applyNow(next));
      const settled = applied.then(
        () => undefined,
        () => undefined,
      );
      queue = settled;
      void settled.then(() => {
        if (queue === settled) queue = undefined;
      });
      return applied;
    },
    async swap(next) {
      await (
        await gateway.apply(next)
      ).drained;
    },
    async close(graceMs = 5000) {
      closed = true;
      await queue;
      // Listeners a reload closed are still draining: cut them by the same deadline.
      const listeners = [...entries.map((e) => e.listener), ...draining];
      await Promise.allSettled(listeners.map((l) => l.close(graceMs)));
      ref.current.retire();
      stores.close();
      // The listeners gave requests in flight their grace; upstream sessions get a last second.
      await registry.close(UPSTREAM_CLOSE_MS);
    },
  };
  return gateway;
}

/**
 * Readies a kept listener for its new settings; a file it cannot read (a
 * TLS certificate that went away, a key that does not match) is a config
 * issue at its field.
 */
function prepareKept(entry: Entry, config: ListenerConfig, next: ProxyConfig): ListenerChange {
  try {
    return entry.listener.prepare(config);
  } catch (err) {
    const i = next.listeners.indexOf(config);
    throw configError(next.source, [
      {
        kind: 'file',
        path: `listeners[${i}].tls`,
        problem: `cannot use the certificate and key: ${err instanceof Error ? err.message : String(err)}`,
        allowed: 'a PEM certificate and the PEM private key that matches it',
      },
    ]);
  }
}

/** The reload's listener changes in words, for its log line. */
function listenerPhrases(plan: ListenerPlan<RunningListener>, opened: readonly Entry[]): string[] {
  const at = (l: RunningListener) => formatHostPort(l.host, l.port);
  const phrases = opened.map(({ config, listener }) => {
    const old = plan.open.find((o) => o.config === config)?.replaces;
    return old === undefined
      ? `listener ${config.name} (${config.protocol}) opened on ${at(listener)}`
      : `listener ${config.name} moved to ${at(listener)} (${at(old.listener)} drains)`;
  });
  for (const { config, listener } of plan.removed) {
    phrases.push(`listener ${config.name} closed (${at(listener)} drains)`);
  }
  return phrases;
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
  held: boolean,
): Promise<RunningListener> {
  switch (config.protocol) {
    case 'http':
      return startHttpListener(config, ref, sink, held);
    case 'grpc':
      return startGrpcListener(config, ref, sink, held);
    case 'tcp':
      return startTcpListener(config, ref, sink, held);
  }
}
