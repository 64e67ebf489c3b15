import { formatHostPort } from '../../shared/format.js';
import { breakerJson, breakerText } from '../breaker/schema.js';
import { outlierText, type OutlierSettings } from '../health/outlier-schema.js';
import { formatBytes } from '../../shared/format.js';
import { formatHashKey } from './parse-hash-key.js';
import { describeDiscovery, type DiscoveryConfig } from '../discovery/types.js';
import { FEATURES } from '../middleware/features.js';
import {
  HEALTH_DEFAULTS,
  formatStatusRanges,
  healthCheckText,
  type HealthCheckConfig,
} from '../health/schema.js';
import type {
  FeatureSettings,
  HostPort,
  ListenerConfig,
  ListenerTimeouts,
  ProxyConfig,
  RouteConfig,
  RouteMatch,
  UpstreamConfig,
  UpstreamTimeouts,
} from './types.js';

/**
 * Renders the resolved routing table for `gw proxy --check`: each listener
 * with its routes (match → upstream, balance, path rewrite), then each
 * upstream with its balance, timeouts and targets with weights. Columns are
 * aligned; defaults appear filled in, so the table shows exactly what will
 * run. Upstreams no listener uses are marked. Pure; no colour.
 *
 * ```
 * listener web  http  127.0.0.1:8080  idle 60000ms header 10000ms  max header 16.0 KiB body 10.0 MiB
 *   route-1  host=example.test pathPrefix=/api methods=GET,POST  → api (round-robin; strip /api)
 *   route-2  any request                                         → web (round-robin)
 * upstream api  round-robin  connect 5000ms header 30000ms idle 60000ms
 *   127.0.0.1:9001  weight 3
 * ```
 */
export function routingTable(config: ProxyConfig): string[] {
  const upstreams = [...config.upstreams.values()];
  const lines: string[] = [];
  const listenerRows = align(
    config.listeners.map((l) => [
      `listener ${l.name}`,
      l.protocol,
      address(l.listen),
      listenerDetails(l, config),
    ]),
  );
  config.listeners.forEach((listener, i) => {
    lines.push(listenerRows[i] ?? '');
    // Appended one by one: push(...rows) passes every row as an argument, and
    // over ~125,000 of them (routes, targets) overflows the call stack.
    if (listener.protocol !== 'tcp') appendAll(lines, routeLines(listener.routes, config));
  });
  const used = usedUpstreams(config);
  const upstreamRows = align(
    upstreams.map((u) => {
      const tls = u.tls ? '  tls' : '';
      const unused = used.has(u.name) ? '' : '  (unused: no listener or route names it)';
      return [
        `upstream ${u.name}`,
        balanceText(u),
        `${upstreamTimeouts(u.timeouts)}${tls}${unused}`,
      ];
    }),
  );
  upstreams.forEach((upstream, i) => {
    lines.push(upstreamRows[i] ?? '');
    if (upstream.outlierDetection !== undefined)
      lines.push(`  ${outlierText(upstream.outlierDetection)}`);
    if (upstream.circuitBreaker !== undefined)
      lines.push(`  ${breakerText(upstream.circuitBreaker)}`);
    if (
      upstream.healthCheck !== undefined ||
      upstream.panicThreshold !== HEALTH_DEFAULTS.panicThreshold
    ) {
      lines.push(healthLine(upstream));
    }
    appendAll(lines, targetLines(upstream));
  });
  return lines;
}

function listenerDetails(listener: ListenerConfig, config: ProxyConfig): string {
  const parts: string[] = [];
  if (listener.protocol === 'tcp') {
    const notes = [upstreamBalance(config, listener.upstream), ...featureNotes(listener.features)];
    parts.push(`→ ${listener.upstream} (${notes.join('; ')})`);
  }
  // A tcp listener has no request head, so only its idle timeout applies.
  parts.push(
    listener.protocol === 'tcp'
      ? `idle ${listener.timeouts.idleMs}ms`
      : listenerTimeouts(listener.timeouts),
  );
  if (listener.maxConnections !== undefined) {
    parts.push(`max ${listener.maxConnections} connections`);
  }
  if (listener.protocol === 'http') {
    const { maxHeaderBytes, maxBodyBytes } = listener.limits;
    const body = maxBodyBytes === 0 ? 'unlimited' : formatBytes(maxBodyBytes);
    parts.push(`max header ${formatBytes(maxHeaderBytes)} body ${body}`);
    if (listener.trustedProxies.length > 0) {
      parts.push(`trusted proxies ${listener.trustedProxies.join(',')}`);
    }
  }
  if (listener.protocol !== 'tcp') {
    if (listener.tls !== undefined)
      parts.push(`tls cert ${listener.tls.cert} key ${listener.tls.key}`);
    if (!listener.accessLog) parts.push('no access log');
  }
  return parts.join('  ');
}

function routeLines(routes: readonly RouteConfig[], config: ProxyConfig): string[] {
  const rows = routes.map((route) => {
    const notes = [
      upstreamBalance(config, route.upstream),
      ...rewriteNotes(route),
      ...featureNotes(route.features),
    ];
    return ['  ' + route.name, matchText(route.match), `→ ${route.upstream} (${notes.join('; ')})`];
  });
  return align(rows);
}

/** `host=example.test pathPrefix=/api methods=GET,POST header:x-env=prod`, or `any request`. */
export function matchText(match: RouteMatch): string {
  const parts: string[] = [];
  if (match.host !== undefined) parts.push(`host=${match.host}`);
  if (match.path !== undefined) parts.push(`path=${quote(match.path)}`);
  if (match.pathPrefix !== undefined) parts.push(`pathPrefix=${quote(match.pathPrefix)}`);
  if (match.pathRegex !== undefined) parts.push(`pathRegex=${quote(match.pathRegex)}`);
  if (match.methods !== undefined) parts.push(`methods=${match.methods.join(',')}`);
  for (const [name, value] of Object.entries(match.headers ?? {})) {
    parts.push(`header:${name}=${quote(value)}`);
  }
  return parts.length === 0 ? 'any request' : parts.join(' ');
}

/** One note per feature set at a place, in the order they run. */
function featureNotes(settings: FeatureSettings): string[] {
  return FEATURES.filter((f) => settings.has(f.key)).map((f) => f.describe(settings.get(f.key)));
}

/** The features set at a place, as written, for JSON; undefined when there are none. */
function featuresJson(settings: FeatureSettings): Record<string, unknown> | undefined {
  if (settings.size === 0) return undefined;
  const out: Record<string, unknown> = {};
  for (const f of FEATURES) if (settings.has(f.key)) out[f.key] = f.toJson(settings.get(f.key));
  return out;
}

function rewriteNotes(route: RouteConfig): string[] {
  const prefix = route.match.pathPrefix ?? '';
  if (route.rewritePrefix !== undefined) return [`rewrite ${prefix} to ${route.rewritePrefix}`];
  return route.stripPrefix ? [`strip ${prefix}`] : [];
}

function targetLines(upstream: UpstreamConfig): string[] {
  // Discovered targets are known only at run time: say where they come from.
  if (upstream.discovery !== undefined) {
    return [`  targets from ${describeDiscovery(upstream.discovery)}`];
  }
  const total = upstream.targets.reduce((sum, t) => sum + t.weight, 0);
  const rows = upstream.targets.map((target) => {
    const resolved = address(target.address);
    const id = target.id === resolved ? target.id : `${target.id} (${resolved})`;
    return ['  ' + id, `weight ${target.weight}`];
  });
  return align(rows).map((line, k) => {
    const weight = upstream.targets[k]?.weight ?? 0;
    // Only a weighted balancer turns weights into shares of the traffic.
    const share = upstream.balance === 'weighted' ? `  ${Math.round((100 * weight) / total)}%` : '';
    return `${line}${share}`;
  });
}

/** The upstream's active health checks and panic threshold, one line. */
function healthLine(upstream: UpstreamConfig): string {
  const check =
    upstream.healthCheck === undefined ? 'no health check' : healthCheckText(upstream.healthCheck);
  const panic =
    upstream.panicThreshold === 0
      ? 'panic mode off'
      : `panic below ${Math.round(upstream.panicThreshold * 100)}% available`;
  return `  ${check}  ${panic}`;
}

function balanceText(upstream: UpstreamConfig): string {
  return upstream.balance === 'hash'
    ? `hash on ${formatHashKey(upstream.hashKey)}`
    : upstream.balance;
}

function upstreamBalance(config: ProxyConfig, name: string): string {
  const upstream = config.upstreams.get(name);
  return upstream === undefined ? 'undefined upstream' : balanceText(upstream);
}

function listenerTimeouts(t: ListenerTimeouts): string {
  return `idle ${t.idleMs}ms header ${t.headerMs}ms`;
}

function upstreamTimeouts(t: UpstreamTimeouts): string {
  return `connect ${t.connectMs}ms header ${t.headerMs}ms idle ${t.idleMs}ms`;
}

function usedUpstreams(config: ProxyConfig): Set<string> {
  return new Set(
    config.listeners.flatMap((l) =>
      l.protocol === 'tcp' ? [l.upstream] : l.routes.map((r) => r.upstream),
    ),
  );
}

function address(hostPort: HostPort): string {
  return formatHostPort(hostPort.host, hostPort.port);
}

function quote(text: string): string {
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

function appendAll(lines: string[], more: readonly string[]): void {
  for (const line of more) lines.push(line);
}

/** Pads every column but the last to the widest cell of that column, two spaces apart. */
function align(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, c) => (widths[c] = Math.max(widths[c] ?? 0, cell.length)));
  return rows.map((row) =>
    row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join('  '),
  );
}

/** The routing table as plain JSON for `gw proxy --check --json`. */
export interface RoutingTableJson {
  readonly source: string;
  readonly listeners: readonly ListenerJson[];
  readonly upstreams: readonly UpstreamJson[];
}

/** One listener in {@link RoutingTableJson}; the fields its protocol does not have are absent. */
export interface ListenerJson {
  readonly name: string;
  readonly protocol: 'http' | 'grpc' | 'tcp';
  /** `host:port`, IPv6 in brackets. */
  readonly listen: string;
  readonly timeouts: ListenerTimeouts;
  /** Set in the config; absent: 2/5 of the open-file limit, found when the listener starts. */
  readonly maxConnections?: number;
  /** tcp only. */
  readonly upstream?: string;
  /** tcp only: the L4 features set on the listener, by key (absent when none). */
  readonly features?: Readonly<Record<string, unknown>>;
  /** http and grpc. */
  readonly routes?: readonly RouteJson[];
  readonly tls?: { readonly cert: string; readonly key: string };
  /** http only. */
  readonly limits?: { readonly maxHeaderBytes: number; readonly maxBodyBytes: number };
  /** http only. */
  readonly trustedProxies?: readonly string[];
  /** http and grpc. */
  readonly accessLog?: boolean;
}

/** One route of an http or grpc listener in {@link RoutingTableJson}. */
export interface RouteJson {
  readonly name: string;
  readonly match: RouteMatch;
  readonly upstream: string;
  readonly stripPrefix: boolean;
  readonly rewritePrefix?: string;
  /** The features set on the route, by key, as written (absent when none). */
  readonly features?: Readonly<Record<string, unknown>>;
}

/** One upstream in {@link RoutingTableJson}, with the listeners and routes that use it. */
export interface UpstreamJson {
  readonly name: string;
  readonly balance: string;
  /** `client-ip`, `header:NAME`, `cookie:NAME` or `path`; hash balancers only. */
  readonly hashKey?: string;
  readonly targets: readonly {
    readonly id: string;
    readonly address: string;
    readonly weight: number;
  }[];
  /** Where the targets come from: `static` (the list above) or a discovery source. */
  readonly source: 'static' | DiscoveryConfig['type'];
  /** The discovery settings (file path as written and resolved, DNS name, etcd prefix). */
  readonly discovery?: DiscoveryConfig;
  readonly timeouts: UpstreamTimeouts;
  readonly tls: boolean;
  /** Passive checks, defaults filled in; absent when off. */
  readonly outlierDetection?: OutlierSettings;
  /** Active health checks with every default filled in; absent when none. */
  readonly healthCheck?: HealthCheckJson;
  /** Panic mode below this share of available targets; 0: off. */
  readonly panicThreshold: number;
  /** The circuit breaker, defaults filled in; absent when none. */
  readonly circuitBreaker?: Record<string, unknown>;
  /** Listener names (tcp) and `listener/route` names that send traffic here. */
  readonly usedBy: readonly string[];
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** The same table as {@link routingTable}, as a JSON-able object (no Maps, addresses as strings). */
export function routingTableJson(config: ProxyConfig): RoutingTableJson {
  const usedBy = upstreamUsers(config);
  return {
    source: config.source,
    listeners: config.listeners.map(listenerJson),
    upstreams: [...config.upstreams.values()].map((u) => upstreamJson(u, usedBy)),
  };
}

/** Who sends traffic to each upstream, in config order: one pass over every route. */
function upstreamUsers(config: ProxyConfig): ReadonlyMap<string, readonly string[]> {
  const users = new Map<string, string[]>();
  const add = (upstream: string, user: string): void => {
    const list = users.get(upstream);
    if (list === undefined) users.set(upstream, [user]);
    else list.push(user);
  };
  for (const l of config.listeners) {
    if (l.protocol === 'tcp') add(l.upstream, l.name);
    else for (const r of l.routes) add(r.upstream, `${l.name}/${r.name}`);
  }
  return users;
}

function listenerJson(l: ListenerConfig): ListenerJson {
  const base = {
    name: l.name,
    protocol: l.protocol,
    listen: address(l.listen),
    timeouts: { ...l.timeouts },
    ...(l.maxConnections === undefined ? {} : { maxConnections: l.maxConnections }),
  };
  if (l.protocol === 'tcp') {
    const features = featuresJson(l.features);
    return { ...base, upstream: l.upstream, ...(features === undefined ? {} : { features }) };
  }
  const routes = l.routes.map((r): RouteJson => ({
    name: r.name,
    // Plain objects for JSON; fromEntries keeps a `__proto__` header as a key.
    match: {
      ...r.match,
      ...(r.match.headers === undefined
        ? {}
        : { headers: Object.fromEntries(Object.entries(r.match.headers)) }),
    },
    upstream: r.upstream,
    stripPrefix: r.stripPrefix,
    ...(r.rewritePrefix === undefined ? {} : { rewritePrefix: r.rewritePrefix }),
    ...optional('features', featuresJson(r.features)),
  }));
  const tls = l.tls === undefined ? {} : { tls: { cert: l.tls.cert, key: l.tls.key } };
  if (l.protocol === 'grpc') return { ...base, routes, ...tls, accessLog: l.accessLog };
  return {
    ...base,
    routes,
    ...tls,
    limits: { ...l.limits },
    trustedProxies: [...l.trustedProxies],
    accessLog: l.accessLog,
  };
}

function upstreamJson(
  u: UpstreamConfig,
  users: ReadonlyMap<string, readonly string[]>,
): UpstreamJson {
  const usedBy = [...(users.get(u.name) ?? [])];
  return {
    name: u.name,
    balance: u.balance,
    ...(u.balance === 'hash' ? { hashKey: formatHashKey(u.hashKey) } : {}),
    targets: u.targets.map((t) => ({ id: t.id, address: address(t.address), weight: t.weight })),
    source: u.discovery?.type ?? 'static',
    ...(u.discovery === undefined ? {} : { discovery: u.discovery }),
    timeouts: { ...u.timeouts },
    tls: u.tls,
    ...(u.outlierDetection === undefined
      ? {}
      : { outlierDetection: { ...u.outlierDetection, on: [...u.outlierDetection.on] } }),
    ...optional(
      'healthCheck',
      u.healthCheck === undefined ? undefined : healthCheckJson(u.healthCheck),
    ),
    panicThreshold: u.panicThreshold,
    ...optional(
      'circuitBreaker',
      u.circuitBreaker === undefined ? undefined : breakerJson(u.circuitBreaker),
    ),
    usedBy,
  };
}

/** A health check in {@link UpstreamJson}: as resolved, `expectStatus` as text (`200-299,304`). */
export type HealthCheckJson = Omit<HealthCheckConfig, 'expectStatus'> & {
  readonly expectStatus?: string;
};

function healthCheckJson(check: HealthCheckConfig): HealthCheckJson {
  return check.type === 'http'
    ? { ...check, expectStatus: formatStatusRanges(check.expectStatus) }
    : { ...check };
}
