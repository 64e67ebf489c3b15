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
import { buildChain } from './pipeline/build-chains.js';
import type { Handler, L4Exchange, Middleware } from './pipeline/types.js';
import { compileRoutes, type CompiledRoute, type RouteRequest } from './routing/compile-routes.js';
import { forwardWs, type WsExchange } from './upstream/bridge-ws.js';
import { forwardGrpc, type GrpcExchange } from './upstream/forward-grpc.js';
import { forwardHttp, type HttpExchange } from './upstream/forward-http.js';
import { answerTcp, pipeTcp, type TcpExchange } from './upstream/pipe-tcp.js';
import type { TargetRegistry } from './upstream/target-registry.js';
import type { UpstreamRuntime } from './upstream/upstream-runtime.js';

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
  /**
   * Extra middleware for a route, after its features (embedding, tests): called once per
   * route per config load.
   */
  readonly routeMiddleware?: (listener: string, route: RouteConfig) => Middleware | undefined;
  /** Extra middleware for a tcp listener's connections, after its features. */
  readonly tcpMiddleware?: (listener: string) => Middleware<L4Exchange> | undefined;
}

/**
 * Everything the data plane needs from one config, built once: routes with
 * their chains, and the upstream runtimes they are pinned to. Listeners read
 * it through a {@link RuntimeRef} as a request arrives and pin what they
 * found on the exchange, so a reload that swaps `ref.current` takes effect
 * for the next request while one in flight (or waiting in a middleware)
 * finishes on the config it started with. Features are built before the
 * registry is touched: a feature that fails to build leaves the old runtime
 * in force.
 */
export class GatewayRuntime {
  readonly config: ProxyConfig;
  readonly upstreams: ReadonlyMap<string, UpstreamRuntime>;
  readonly listeners: ReadonlyMap<string, ListenerRuntime>;
  /** Resolves once what this config dropped (targets, upstreams) has drained. */
  readonly drained: Promise<void>;
  /** What the features of this config hold (sweeps, monitors), released by {@link retire}. */
  private readonly closers: (() => void)[] = [];

  constructor(config: ProxyConfig, deps: RuntimeDeps) {
    this.config = config;
    // Features look upstreams up per exchange (a fallback's): by then they are reconciled.
    const upstreams: { map: ReadonlyMap<string, UpstreamRuntime> } = { map: new Map() };
    const upstream = (name: string) => upstreams.map.get(name);
    const built = config.listeners.map((l) => ({
      config: l,
      features: buildFeatures(l, config, deps, upstream, this.closers),
    }));
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
   * monitor): called once another config took over, or the gateway stops.
   * Exchanges still on this config finish; only background work ends.
   */
  retire(): void {
    for (const close of this.closers.splice(0)) close();
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

function buildFeatures(
  listener: ListenerConfig,
  config: ProxyConfig,
  deps: RuntimeDeps,
  upstream: FeatureDeps['upstream'],
  closers: (() => void)[],
): BuiltFeatures {
  const base = { clock: monotonicClock, sweeper, config, log: deps.registry.log, upstream };
  if (listener.protocol === 'tcp') {
    const where = `listener ${listener.name}`;
    const built = buildEach(listener.features, { ...base, where }, FEATURES, 'tcp', closers);
    const tcp = built.flatMap((m) => (m.tcp ? [m.tcp] : []));
    const extra = deps.tcpMiddleware?.(listener.name);
    if (extra !== undefined) tcp.push(extra);
    return { routes: [], tcp };
  }
  const routes = listener.routes.map((route) => {
    const where = `listener ${listener.name}, route ${route.name}`;
    const built = buildEach(route.features, { ...base, where }, FEATURES, 'route', closers);
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
  deps: FeatureDeps,
  features: readonly AnyFeature[],
  place: FeaturePlace,
  closers: (() => void)[],
): FeatureMiddleware[] {
  const out: FeatureMiddleware[] = [];
  for (const feature of features) {
    const value = settings.has(feature.key)
      ? settings.get(feature.key)
      : feature.places.includes(place)
        ? feature.unset
        : undefined;
    if (value === undefined) continue;
    const built = feature.build(value, deps);
    if (built.close !== undefined) closers.push(built.close);
    out.push(built);
  }
  return out;
}

/** The one mutable cell of the data plane: the runtime in force. */
export interface RuntimeRef {
  current: GatewayRuntime;
}
