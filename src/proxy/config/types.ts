/**
 * The gateway's configuration after validation: every default filled in,
 * every address parsed, every reference (route → upstream) checked. The
 * schema in `schema.ts` turns the YAML/JSON a user writes into this shape;
 * everything downstream (listeners, balancers, the `--check` table) reads
 * only these types, never the raw file.
 *
 * Fields later issues add (health checks, discovery, rate limits, breakers,
 * auth, degradation) extend these interfaces; the schema rejects them until
 * they are implemented, so no setting is ever silently ignored.
 */
import type { BreakerSettings } from '../breaker/schema.js';
import type { OutlierSettings } from '../health/outlier-schema.js';
import type { DiscoveryConfig } from '../discovery/types.js';

import type { HealthCheckConfig } from '../health/schema.js';
import type { ConsumerConfig } from '../middleware/auth/consumers.js';

/** A parsed `host:port` (`[::1]:8080` for IPv6). */
import type { SheddingLimits } from '../middleware/priority/schema.js';
import type { StoreSettings } from '../store/schema.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** The balancers a config may name. */
export const BALANCE_NAMES = [
  'random',
  'round-robin',
  'weighted',
  'hash',
  'least-conn',
  'p2c',
] as const;
export type BalanceName = (typeof BALANCE_NAMES)[number];

/** What a `hash` balancer hashes on. */
export type HashKey =
  | { readonly kind: 'client-ip' }
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'cookie'; readonly name: string }
  | { readonly kind: 'path' };

export interface TargetConfig {
  /** `host:port` exactly as written, used as the target's id in logs and status. */
  readonly id: string;
  readonly address: HostPort;
  /** Relative weight, a positive integer (default 1). */
  readonly weight: number;
}

/** Timeouts towards an upstream, in milliseconds. */
export interface UpstreamTimeouts {
  /** TCP (and TLS) connect. Default 5000. */
  readonly connectMs: number;
  /** From the request sent to the response headers received (HTTP, gRPC). Default 30000. */
  readonly headerMs: number;
  /** No bytes either way for this long ends the exchange or stream. Default 60000. */
  readonly idleMs: number;
}

export interface UpstreamConfig {
  readonly name: string;
  readonly balance: BalanceName;
  /** Set when `balance` is `hash`; default client-ip. */
  readonly hashKey: HashKey;
  /** True when `balance` is `hash` and the config left `hashKey` out (so it is client-ip). */
  readonly hashKeyDefaulted?: boolean;
  /** The targets written in the config; empty when `discovery` finds them. */
  readonly targets: readonly TargetConfig[];
  /** Where the targets come from when the config does not list them. */
  readonly discovery?: DiscoveryConfig;
  readonly timeouts: UpstreamTimeouts;
  /** Speak TLS to the targets (HTTP and gRPC). Default false. */
  readonly tls: boolean;
  /** Passive checks: eject targets whose attempts keep failing (health/outlier-schema.ts). */
  readonly outlierDetection?: OutlierSettings;
  /** Active health checks (health/schema.ts); absent: every target counts as healthy. */
  readonly healthCheck?: HealthCheckConfig;
  /** Panic mode below this share of available targets (balance over all). Default 0.5; 0: off. */
  readonly panicThreshold: number;
  /** Stop calling it while its calls keep failing (breaker/schema.ts); absent: no breaker. */
  readonly circuitBreaker?: BreakerSettings;
}

/** How a route recognises a request. All given conditions must hold. */
export interface RouteMatch {
  /** Exact host (port ignored, case-insensitive); `*.example.test` matches one label. */
  readonly host?: string;
  readonly path?: string;
  readonly pathPrefix?: string;
  /** A JavaScript regular expression source, anchored by the user if wanted. */
  readonly pathRegex?: string;
  /** Upper-case method names. */
  readonly methods?: readonly string[];
  /** Header name (lower case) → exact value. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface RouteConfig {
  /** A name for logs and the routing table (default `route-N`). */
  readonly name: string;
  readonly match: RouteMatch;
  readonly upstream: string;
  /** Remove the matched `pathPrefix` before forwarding. */
  readonly stripPrefix: boolean;
  /** Replace the matched `pathPrefix` with this before forwarding. */
  readonly rewritePrefix?: string;
  /** Each feature set on the route (middleware/features.ts), by key, with its validated settings. */
  readonly features: FeatureSettings;
}

/** Feature key → validated settings, for the features set at one place (a route, a tcp listener). */
export type FeatureSettings = ReadonlyMap<string, unknown>;

export interface TlsFiles {
  /** PEM file paths, resolved relative to the config file. */
  readonly cert: string;
  readonly key: string;
}

/** Limits on what a client may send, enforced before anything is forwarded. */
export interface HttpLimits {
  /** Request line plus headers; over it → 431. Default 16384. */
  readonly maxHeaderBytes: number;
  /** Request body; over it → 413. Default 10 MiB; 0 means no limit. */
  readonly maxBodyBytes: number;
  /**
   * A body with a Content-Length up to this is read whole before a target connection is taken
   * (a slow client then holds none). Default 0: bodies stream.
   */
  readonly bufferBodyBytes: number;
}

export interface ListenerTimeouts {
  /** A client connection with no request in flight is closed after this. Default 60000. */
  readonly idleMs: number;
  /** The whole request head must arrive within this (slowloris). Default 10000. */
  readonly headerMs: number;
  /** The longest silence between two reads of a request body (408 after it). Default 30000. */
  readonly bodyMs: number;
  /**
   * After its first `bodyMs`, a request body must average at least this (time the gateway paused
   * it excluded), or it gets 408: a byte every few seconds holds nothing for long. Default 100;
   * 0 for no minimum.
   */
  readonly bodyMinBytesPerSecond: number;
}

interface ListenerBase {
  readonly name: string;
  readonly listen: HostPort;
  readonly timeouts: ListenerTimeouts;
  /**
   * The most client connections held at once; one more is accepted and closed at once.
   * Default (absent): 2/5 of the process's open-file limit (`ulimit -n`), 10000 where unknown.
   */
  readonly maxConnections?: number;
}

export interface HttpListenerConfig extends ListenerBase {
  readonly protocol: 'http';
  readonly routes: readonly RouteConfig[];
  readonly tls?: TlsFiles;
  readonly limits: HttpLimits;
  /** Peers (CIDRs) whose X-Forwarded-* headers are kept; others' are replaced. Default none. */
  readonly trustedProxies: readonly string[];
  /** Log one line per request to stdout. Default true. */
  readonly accessLog: boolean;
  /** Request field names with `_`: dropped (default), passed, or refused with 400. */
  readonly underscoreHeaders: 'drop' | 'pass' | 'refuse';
}

export interface GrpcListenerConfig extends ListenerBase {
  readonly protocol: 'grpc';
  /** Matched on the `:path` (`/package.Service/Method`), host and metadata. */
  readonly routes: readonly RouteConfig[];
  readonly tls?: TlsFiles;
  readonly accessLog: boolean;
}

export interface TcpListenerConfig extends ListenerBase {
  readonly protocol: 'tcp';
  readonly upstream: string;
  /** Each L4 feature set on the listener, by key (see RouteConfig.features). */
  readonly features: FeatureSettings;
}

export type ListenerConfig = HttpListenerConfig | GrpcListenerConfig | TcpListenerConfig;

/** A whole, valid gateway configuration. Immutable: a reload builds a new one. */
export interface ProxyConfig {
  /** Where it was read from (a path), for messages. */
  readonly source: string;
  readonly listeners: readonly ListenerConfig[];
  readonly upstreams: ReadonlyMap<string, UpstreamConfig>;
  /** Named identities with their credentials (middleware/auth/consumers.ts); empty when none. */
  readonly consumers: readonly ConsumerConfig[];
  /** Load shedding by route priority (top-level `shedding`); absent: none, nothing counted. */
  readonly shedding?: SheddingLimits;
  /** The Redis that limits with `store: redis` are kept in (top-level `store`); absent: none. */
  readonly store?: StoreSettings;
  /**
   * How long a stopping gateway (SIGTERM/SIGINT) lets requests, calls and sessions in flight
   * finish before it cuts them, and how long a listener a reload removed or moved drains.
   * Default 5000.
   */
  readonly shutdownTimeoutMs: number;
}
