import { dirname, isAbsolute, join } from 'node:path';
import { resolveDiscovery } from '../discovery/schema.js';
import { FEATURES } from '../middleware/features.js';
import { resolveConsumers } from '../middleware/auth/consumers.js';
import type { FeaturePlace } from '../middleware/feature.js';
import type { ConfigFile } from './schema.js';
import { HEALTH_DEFAULTS, resolveHealthCheck } from '../health/schema.js';
import type {
  FeatureSettings,
  ListenerConfig,
  ListenerTimeouts,
  ProxyConfig,
  RouteConfig,
  RouteMatch,
  TlsFiles,
  UpstreamConfig,
} from './types.js';

/** The defaults of every optional setting, as documented in `types.ts`. */
export const CONFIG_DEFAULTS = {
  listenerTimeouts: {
    idleMs: 60_000,
    headerMs: 10_000,
    bodyMs: 30_000,
    bodyMinBytesPerSecond: 100,
  },
  limits: { maxHeaderBytes: 16_384, maxBodyBytes: 10 * 1024 * 1024, bufferBodyBytes: 16_384 },
  accessLog: true,
  upstreamTimeouts: { connectMs: 5_000, headerMs: 30_000, idleMs: 60_000 },
  balance: 'round-robin',
  hashKey: { kind: 'client-ip' },
  weight: 1,
  upstreamTls: false,
  shutdownTimeoutMs: 5_000,
} as const;

type FileListener = ConfigFile['listeners'][number];
type FileRoute = NonNullable<FileListener['routes']>[number];
type FileUpstream = ConfigFile['upstreams'][number];

/**
 * Builds the resolved {@link ProxyConfig} from a file that passed validation:
 * fills defaults, names unnamed routes `route-N` (1-based within their
 * listener) and makes TLS paths relative to the config file's directory.
 * Pure (path arithmetic only, no file access).
 */
export function resolveConfig(file: ConfigFile, source: string): ProxyConfig {
  const upstreams = new Map(
    file.upstreams.map((u) => [u.name, resolveUpstream(u, source)] as const),
  );
  return {
    source,
    listeners: file.listeners.map((l) => resolveListener(l, source)),
    upstreams,
    consumers: resolveConsumers(file.consumers),
    ...(file.shedding === undefined ? {} : { shedding: file.shedding }),
    ...(file.store === undefined ? {} : { store: file.store }),
    shutdownTimeoutMs: file.shutdownTimeoutMs ?? CONFIG_DEFAULTS.shutdownTimeoutMs,
  };
}

function resolveListener(l: FileListener, source: string): ListenerConfig {
  const defaults = CONFIG_DEFAULTS.listenerTimeouts;
  const timeouts: ListenerTimeouts = {
    idleMs: l.timeouts?.idleMs ?? defaults.idleMs,
    headerMs: l.timeouts?.headerMs ?? defaults.headerMs,
    bodyMs: l.timeouts?.bodyMs ?? defaults.bodyMs,
    bodyMinBytesPerSecond: l.timeouts?.bodyMinBytesPerSecond ?? defaults.bodyMinBytesPerSecond,
  };
  const base = {
    name: l.name,
    listen: l.listen,
    timeouts,
    ...(l.maxConnections === undefined ? {} : { maxConnections: l.maxConnections }),
  };
  if (l.protocol === 'tcp') {
    // Validation guarantees a tcp listener has an upstream.
    return {
      ...base,
      protocol: 'tcp',
      upstream: l.upstream ?? '',
      features: featureSettings(l, 'tcp'),
    };
  }
  const routes = (l.routes ?? []).map(resolveRoute);
  const tls = l.tls === undefined ? {} : { tls: resolveTls(l.tls, source) };
  const accessLog = l.accessLog ?? CONFIG_DEFAULTS.accessLog;
  if (l.protocol === 'grpc') return { ...base, protocol: 'grpc', routes, ...tls, accessLog };
  return {
    ...base,
    protocol: 'http',
    routes,
    ...tls,
    limits: {
      maxHeaderBytes: l.limits?.maxHeaderBytes ?? CONFIG_DEFAULTS.limits.maxHeaderBytes,
      maxBodyBytes: l.limits?.maxBodyBytes ?? CONFIG_DEFAULTS.limits.maxBodyBytes,
      bufferBodyBytes: l.limits?.bufferBodyBytes ?? CONFIG_DEFAULTS.limits.bufferBodyBytes,
    },
    trustedProxies: l.trustedProxies ?? [],
    accessLog,
    underscoreHeaders: l.underscoreHeaders ?? 'drop',
  };
}

function resolveRoute(r: FileRoute, index: number): RouteConfig {
  return {
    name: r.name ?? `route-${index + 1}`,
    match: resolveMatch(r.match ?? {}),
    upstream: r.upstream,
    stripPrefix: r.stripPrefix ?? false,
    ...(r.rewritePrefix === undefined ? {} : { rewritePrefix: r.rewritePrefix }),
    features: featureSettings(r, 'route'),
  };
}

/** The features set at one place, by key, in the order they run (FEATURES' order). */
function featureSettings(place: object, kind: FeaturePlace): FeatureSettings {
  const settings = new Map<string, unknown>();
  const values = place as Readonly<Record<string, unknown>>;
  for (const feature of FEATURES) {
    const value = values[feature.key];
    if (feature.places.includes(kind) && value !== undefined) settings.set(feature.key, value);
  }
  return settings;
}

function resolveMatch(m: NonNullable<FileRoute['match']>): RouteMatch {
  return {
    ...(m.host === undefined ? {} : { host: m.host }),
    ...(m.path === undefined ? {} : { path: m.path }),
    ...(m.pathPrefix === undefined ? {} : { pathPrefix: m.pathPrefix }),
    ...(m.pathRegex === undefined ? {} : { pathRegex: m.pathRegex }),
    ...(m.methods === undefined ? {} : { methods: m.methods }),
    ...(m.headers === undefined ? {} : { headers: m.headers }),
  };
}

/**
 * TLS file paths relative to the config file's directory, so a config works
 * from any working directory. A config not read from a file (`<embedded>`, a
 * URL) has no directory: its relative paths stay relative to the working one.
 */
function resolveTls(tls: { cert: string; key: string }, source: string): TlsFiles {
  const fromFile = !source.startsWith('<') && !/^[a-z][a-z0-9+.-]*:\/\//i.test(source);
  const resolve = (path: string) =>
    isAbsolute(path) || !fromFile ? path : join(dirname(source), path);
  return { cert: resolve(tls.cert), key: resolve(tls.key) };
}

function resolveUpstream(u: FileUpstream, source: string): UpstreamConfig {
  const defaults = CONFIG_DEFAULTS.upstreamTimeouts;
  return {
    name: u.name,
    balance: u.balance ?? CONFIG_DEFAULTS.balance,
    hashKey: u.hashKey ?? CONFIG_DEFAULTS.hashKey,
    ...(u.balance === 'hash' && u.hashKey === undefined ? { hashKeyDefaulted: true } : {}),
    targets: u.targets ?? [],
    ...(u.discovery === undefined ? {} : { discovery: resolveDiscovery(u.discovery, source) }),
    timeouts: {
      connectMs: u.timeouts?.connectMs ?? defaults.connectMs,
      headerMs: u.timeouts?.headerMs ?? defaults.headerMs,
      idleMs: u.timeouts?.idleMs ?? defaults.idleMs,
    },
    tls: u.tls ?? CONFIG_DEFAULTS.upstreamTls,
    ...(u.outlierDetection === undefined ? {} : { outlierDetection: u.outlierDetection }),
    ...(u.healthCheck === undefined ? {} : { healthCheck: resolveHealthCheck(u.healthCheck) }),
    panicThreshold: u.panicThreshold ?? HEALTH_DEFAULTS.panicThreshold,
    ...(u.circuitBreaker === undefined ? {} : { circuitBreaker: u.circuitBreaker }),
  };
}
