import { cidrMatcher } from '../shared/cidr-matcher.js';
import { monotonicClock } from '../shared/clock.js';
import { sweeper } from '../shared/sweeper.js';
import type { ListenerConfig, ProxyConfig, RouteConfig } from './config/types.js';
import { answerGrpc } from './listeners/grpc-answer.js';
import { answerHttp, answerWs } from './listeners/http-answer.js';
import {
  accessLog,
  formatAccessLine,
  formatTcpLine,
  type LineSink,
} from './middleware/access-log/access-log.js';
import type {
  AnyFeature,
  FeatureDeps,
  FeatureMiddleware,
  FeaturePlace,
} from './middleware/feature.js';
import { FEATURES } from './middleware/features.js';
import type { ShelfHolder, StateShelf } from './middleware/state-shelf.js';
import { buildChain } from './pipeline/build-chains.js';
import type { Handler, L4Exchange, Middleware } from './pipeline/types.js';
import { compileRoutes, type CompiledRoute, type RouteRequest } from './routing/compile-routes.js';
import { forwardWs, type WsExchange } from './upstream/bridge-ws.js';
import { forwardGrpc, type GrpcExchange } from './upstream/forward-grpc.js';
import { forwardHttp, type HttpExchange } from './upstream/forward-http.js';
import { answerTcp, pipeTcp, type TcpExchange } from './upstream/pipe-tcp.js';
import type { TargetRegistry } from './upstream/target-registry.js';
import type { UpstreamRuntime } from './upstream/upstream-runtime.js';
import type { SharedStore } from './store/shared-store.js';

/**
 * One route of one config load: its matcher, the upstream runtime its
 * exchanges are pinned to, and its chains, composed once. The chains of one
 * route share the route's middleware instances (one rate limiter for its
 * HTTP requests, upgrades and calls alike).
 */
export interface RouteEntry {
  /** Undefined for the listener's not-found route. */
  readonly compiled: CompiledRoute | undefined;
  readonly name: string;
  /** The upstream's name, empty for not-found. */
  readonly upstreamName: string;
  /** The pinned upstream, undefined for not-found (its terminal answers 404/UNIMPLEMENTED). */
  readonly upstream: UpstreamRuntime | undefined;
  readonly http: Handler<HttpExchange>;
  readonly ws: Handler<WsExchange>;
  readonly grpc: Handler<GrpcExchange>;
}

/** A tcp listener's L4 chain and its upstream. */
export interface TcpEntry {
  readonly upstream: UpstreamRuntime;
  readonly chain: Handler<TcpExchange>;
}

/** One listener's compiled routing state. */
export interface ListenerRuntime {
  readonly config: ListenerConfig;
  readonly routes: readonly RouteEntry[];
  /** What a request no route takes goes through: logged, and answered 404 / UNIMPLEMENTED. */
  readonly notFound: RouteEntry;
  /** Set for a tcp listener. */
  readonly tcp: TcpEntry | undefined;
  /** True for a peer address inside the listener's trustedProxies. */
  readonly isTrusted: (ip: string) => boolean;
  /**
   * Every query parameter a route of the listener takes a credential from: the
   * exchanges of the listener carry it (`Exchange.secretParams`), so the access log
   * hides it on any route, and on a request no route takes.
   */
  readonly secretParams: readonly string[];
}

/** What a runtime is built with besides its config. */
export interface RuntimeDeps {
  /** Where access-log lines go. */
  readonly sink: LineSink;
  /** The lasting upstream and target state, reconciled with each config. */
  readonly registry: TargetRegistry;
  /** The lasting state of features (rate limiters' keys), taken over by each config that keeps it. */
  readonly shelf: StateShelf;
  /**
   * Extra middleware for a route, after its features (embedding, tests): called once per
   * route per config load.
   */
  readonly routeMiddleware?: (listener: string, route: RouteConfig) => Middleware | undefined;
  /** Extra middleware for a tcp listener's connections, after its features. */
  readonly tcpMiddleware?: (listener: string) => Middleware<L4Exchange> | undefined;
  /** The connection to the config's top-level `store`, for limits kept there. */
  readonly sharedStore?: SharedStore;
}

/**
 * Everything the data plane needs from one config, built once: routes with
 * their chains, and the upstream runtimes they are pinned to. Listeners read
 * it through a {@link RuntimeRef} as a request arrives and pin what they
 * found on the exchange, so a reload that swaps `ref.current` takes effect
 * for the next request while one in flight (or waiting in a middleware)
 * finishes on the config it started with. Features are built before the
 * registry is touched: a feature that fails to build leaves the old runtime
 * in force (what the features built before it started is released), and
 * {@link GatewayRuntime.prepare} lets a reload do more that may fail (bind
 * new addresses) before the registry is touched.
 */
export class GatewayRuntime {
  readonly config: ProxyConfig;
  readonly upstreams: ReadonlyMap<string, UpstreamRuntime>;
  readonly listeners: ReadonlyMap<string, ListenerRuntime>;
  /** Resolves once what this config dropped (targets, upstreams) has drained. */
  readonly drained: Promise<void>;
  /** What the features of this config hold (sweeps, monitors), released by {@link retire}. */
  private readonly closers: (() => void)[];
  /** The lasting state this config's features took (over), let go by {@link retire}. */
  private readonly holder: ShelfHolder;

  /**
   * Builds a config's features, which may fail (GW_ERR_CONFIG: a key file that
   * went away, say), touching nothing that lasts; `commit` then reconciles the
   * registry and makes the runtime. What the features started is released if
   * they fail part-way, or by `abandon` when the reload goes no further.
   */
  static prepare(config: ProxyConfig, deps: RuntimeDeps): PreparedRuntime {
    const parts = preparedParts(config, deps);
    let used = false;
    return {
      commit: () => {
        if (used) throw new Error('a prepared runtime is committed or abandoned once');
        used = true;
        return new GatewayRuntime(config, deps, parts);
      },
      abandon: () => {
        if (used) return;
        used = true;
        for (const close of parts.closers.splice(0)) close();
        parts.holder.release();
      },
    };
  }

  constructor(config: ProxyConfig, deps: RuntimeDeps, prepared?: Prepared) {
    const { built, closers, holder, upstreams } = prepared ?? preparedParts(config, deps);
    this.config = config;
    this.closers = closers;
    this.holder = holder;
    const reconciled = deps.registry.reconcile(config.upstreams);
    this.upstreams = reconciled.upstreams;
    upstreams.map = reconciled.upstreams;
    this.drained = reconciled.drained;
    this.listeners = new Map(
      built.map(({ config: l, features }) => [l.name, this.buildListener(l, features, deps.sink)]),
    );
  }

  /**
   * Releases what this config's features hold (their sweeps, the load
   * monitor, and kept state the config in force did not take over): called
   * once another config took over, or the gateway stops. Exchanges still on
   * this config finish; only background work ends.
   */
  retire(): void {
    for (const close of this.closers.splice(0)) close();
    this.holder.release();
  }

  /** The upstream a validated config guarantees to exist. */
  upstream(name: string): UpstreamRuntime {
    const upstream = this.upstreams.get(name);
    if (upstream === undefined) throw new Error(`upstream ${name} missing from a validated config`);
    return upstream;
  }

  listener(name: string): ListenerRuntime {
    const listener = this.listeners.get(name);
    if (listener === undefined) throw new Error(`listener ${name} missing from a validated config`);
    return listener;
  }

  private buildListener(
    config: ListenerConfig,
    features: BuiltFeatures,
    sink: LineSink,
  ): ListenerRuntime {
    if (config.protocol === 'tcp') {
      const upstream = this.upstream(config.upstream);
      const chain = buildChain<L4Exchange, TcpExchange>(
        [accessLog(sink, formatTcpLine)],
        features.tcp,
        { terminal: pipeTcp, answer: answerTcp },
      );
      return {
        config,
        routes: [],
        notFound: routeEntry(undefined, undefined, [], []),
        tcp: { upstream, chain },
        isTrusted: () => false,
        secretParams: [],
      };
    }
    const front: Middleware[] = config.accessLog ? [accessLog(sink, formatAccessLine)] : [];
    const compiled = compileRoutes(config.routes);
    const routes = compiled.map((route, i) =>
      routeEntry(route, this.upstream(route.upstream), front, features.routes[i] ?? []),
    );
    const trusted = config.protocol === 'http' ? config.trustedProxies : [];
    return {
      config,
      routes,
      notFound: routeEntry(undefined, undefined, front, []),
      tcp: undefined,
      isTrusted: cidrMatcher(trusted),
      secretParams: secretParamsOf(config.routes),
    };
  }
}

/** A runtime whose features are built and whose registry is not yet touched. */
export interface PreparedRuntime {
  /** Reconciles the registry and makes the runtime; once. Does not fail for a validated config. */
  commit(): GatewayRuntime;
  /** Releases what the features started: the reload stops here. */
  abandon(): void;
}

/** Where features find the upstream runtimes, filled in by the reconcile. */
interface UpstreamSlot {
  map: ReadonlyMap<string, UpstreamRuntime>;
}

interface Prepared {
  readonly built: readonly { config: ListenerConfig; features: BuiltFeatures }[];
  readonly closers: (() => void)[];
  /** The lasting state the features took (over), held from the build on. */
  readonly holder: ShelfHolder;
  readonly upstreams: UpstreamSlot;
}

/**
 * A config's features, built (what can fail) with the slot where they will
 * find the reconciled upstreams. What they started is released if one fails.
 */
function preparedParts(config: ProxyConfig, deps: RuntimeDeps): Prepared {
  const closers: (() => void)[] = [];
  const holder = deps.shelf.holder();
  const upstreams: UpstreamSlot = { map: new Map() };
  const upstream = (name: string) => upstreams.map.get(name);
  try {
    const built = config.listeners.map((l) => ({
      config: l,
      features: buildFeatures(l, config, deps, upstream, { holder, closers }),
    }));
    return { built, closers, holder, upstreams };
  } catch (err) {
    // The config in force stays: what this one's features started so far must not run on.
    for (const close of closers.splice(0)) close();
    holder.release();
    throw err;
  }
}

/** The credential-carrying query parameters of `routes`' features, each name once. */
function secretParamsOf(routes: readonly RouteConfig[]): readonly string[] {
  const names = new Set<string>();
  for (const route of routes)
    for (const feature of FEATURES) {
      const settings = route.features.get(feature.key);
      if (settings !== undefined && feature.secretParams !== undefined)
        for (const name of feature.secretParams(settings)) names.add(name);
    }
  return [...names];
}

/** The first route that matches, or the listener's not-found route. */
export function routeFor(listener: ListenerRuntime, request: RouteRequest): RouteEntry {
  for (const route of listener.routes) if (route.compiled?.matches(request)) return route;
  return listener.notFound;
}

function routeEntry(
  compiled: CompiledRoute | undefined,
  upstream: UpstreamRuntime | undefined,
  front: readonly Middleware[],
  features: readonly Middleware[],
): RouteEntry {
  return {
    compiled,
    name: compiled?.name ?? '',
    upstreamName: compiled?.upstream ?? '',
    upstream,
    http: buildChain(front, features, { terminal: forwardHttp, answer: answerHttp }),
    ws: buildChain(front, features, { terminal: forwardWs, answer: answerWs }),
    grpc: buildChain(front, features, { terminal: forwardGrpc, answer: answerGrpc }),
  };
}

/** A listener's features, built once: per route (L7) or for the listener (tcp). */
interface BuiltFeatures {
  readonly routes: readonly (readonly Middleware[])[];
  readonly tcp: readonly Middleware<L4Exchange>[];
}

/** Where a config's features leave what outlives their build: kept state, and closes. */
interface Lasting {
  readonly holder: ShelfHolder;
  readonly closers: (() => void)[];
}

/** The features' deps at one place, before each feature gets its own `keep`. */
type PlaceDeps = Omit<FeatureDeps, 'keep'>;

function buildFeatures(
  listener: ListenerConfig,
  config: ProxyConfig,
  deps: RuntimeDeps,
  upstream: FeatureDeps['upstream'],
  lasting: Lasting,
): BuiltFeatures {
  const base = {
    clock: monotonicClock,
    sweeper,
    config,
    log: deps.registry.log,
    upstream,
    ...(deps.sharedStore === undefined ? {} : { sharedStore: deps.sharedStore }),
  };
  if (listener.protocol === 'tcp') {
    const where = `listener ${listener.name}`;
    const built = buildEach(listener.features, { ...base, where }, FEATURES, 'tcp', lasting);
    const tcp = built.flatMap((m) => (m.tcp ? [m.tcp] : []));
    const extra = deps.tcpMiddleware?.(listener.name);
    if (extra !== undefined) tcp.push(extra);
    return { routes: [], tcp };
  }
  const routes = listener.routes.map((route) => {
    const where = `listener ${listener.name}, route ${route.name}`;
    const built = buildEach(route.features, { ...base, where }, FEATURES, 'route', lasting);
    const middleware: Middleware[] = built.flatMap((m) => (m.route ? [m.route] : []));
    const extra = deps.routeMiddleware?.(listener.name, route);
    if (extra !== undefined) middleware.push(extra);
    return middleware;
  });
  return { routes, tcp: [] };
}

/** Builds every feature set at one place (or with settings when unset), in the registry's order. */
function buildEach(
  settings: ReadonlyMap<string, unknown>,
  deps: PlaceDeps,
  features: readonly AnyFeature[],
  place: FeaturePlace,
  lasting: Lasting,
): FeatureMiddleware[] {
  const out: FeatureMiddleware[] = [];
  for (const feature of features) {
    const value = settings.has(feature.key)
      ? settings.get(feature.key)
      : feature.places.includes(place)
        ? feature.unset
        : undefined;
    if (value === undefined) continue;
    const built = feature.build(value, { ...deps, keep: keepFor(feature.key, lasting.holder) });
    if (built.close !== undefined) lasting.closers.push(built.close);
    out.push(built);
  }
  return out;
}

/** A feature's `keep`: its ids are its own, apart from every other feature's. */
function keepFor(key: string, holder: ShelfHolder): FeatureDeps['keep'] {
  return (id, make) => holder.keep(`${key}: ${id}`, make);
}

/** The one mutable cell of the data plane: the runtime in force. */
export interface RuntimeRef {
  current: GatewayRuntime;
}
