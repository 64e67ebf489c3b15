import { formatHostPort } from '../../shared/format.js';
import { discoveryCrossChecks } from '../discovery/schema.js';
import { FEATURES } from '../middleware/features.js';
import { parseHostPort } from './parse-host-port.js';
import { fields, text, type Fields } from './raw-fields.js';
import { listenConflicts } from './listen-conflicts.js';
import { rawIssue, type RawIssue, type RawIssueOptions } from './raw-issue.js';
import { storeCrossChecks } from '../store/cross-checks.js';

/** Settings that only some listener protocols take, and which. */
const PROTOCOL_ONLY: Readonly<Record<string, readonly string[]>> = {
  routes: ['http', 'grpc'],
  tls: ['http', 'grpc'],
  accessLog: ['http', 'grpc'],
  limits: ['http'],
  trustedProxies: ['http'],
  upstream: ['tcp'],
  // A feature a tcp listener takes goes on the routes of an http or grpc listener.
  ...Object.fromEntries(
    FEATURES.filter((f) => f.places.includes('tcp')).map((f) => [f.key, ['tcp']]),
  ),
};

/** Feature keys that may be written on a route as well as on a tcp listener. */
const ROUTE_FEATURES = new Set(
  FEATURES.filter((f) => f.places.includes('route')).map((f) => f.key),
);

/**
 * Checks a config document's fields against each other: every referenced
 * upstream exists, names are unique, no two listeners take the same address,
 * each listener has what its protocol needs and nothing it would ignore, path
 * rewrites have a prefix to rewrite, `hashKey` goes with `balance: hash`, no
 * target is listed twice. Tolerant: it reads the raw document and skips what
 * is malformed, which the schema reports, so both passes run on every input
 * and one run reports every problem. Pure.
 */
export function crossChecks(root: unknown): RawIssue[] {
  const doc = fields(root);
  if (doc === undefined) return [];
  const issues: RawIssue[] = [];
  const add: Add = (segments, problem, options) => {
    issues.push(rawIssue(root, segments, problem, options));
  };
  const listeners = list(doc.listeners);
  const upstreams = list(doc.upstreams);
  const upstreamNames = new Set(upstreams.map((u) => text(fields(u)?.name)).filter(isString));

  uniqueNames(listeners, 'listeners', add);
  uniqueNames(upstreams, 'upstreams', add);
  listenConflicts(listeners, add);
  listeners.forEach((listener, i) => {
    const l = fields(listener);
    if (l !== undefined) checkListener(l, ['listeners', i], upstreamNames, add);
  });
  const tcpUpstreams = new Set(
    listeners
      .map((l) => fields(l))
      .filter((l) => text(l?.protocol) === 'tcp')
      .map((l) => text(l?.upstream)),
  );
  upstreams.forEach((upstream, i) => {
    const u = fields(upstream);
    if (u === undefined) return;
    checkUpstream(u, ['upstreams', i], add);
    if (tcpUpstreams.has(text(u.name))) checkTcpHashKey(u, ['upstreams', i], add);
  });
  storeCrossChecks(doc, add);
  return issues;
}

export type Add = (
  segments: readonly PropertyKey[],
  problem: string,
  options: RawIssueOptions,
) => void;

function checkListener(
  l: Fields,
  at: readonly PropertyKey[],
  upstreams: Set<string>,
  add: Add,
): void {
  const protocol = text(l.protocol);
  if (protocol === 'http' || protocol === 'grpc' || protocol === 'tcp') {
    checkProtocolFit(l, at, protocol, add);
  }
  const upstream = text(l.upstream);
  if (upstream !== undefined && protocol === 'tcp') {
    checkReference(upstream, upstreams, [...at, 'upstream'], add);
  }
  const routes = list(l.routes);
  routes.forEach((route, j) => {
    const r = fields(route);
    if (r !== undefined) checkRoute(r, [...at, 'routes', j], protocol, upstreams, add);
  });
  uniqueRouteNames(routes, at, add);
}

/** The listener has what its protocol needs (tcp: an upstream; http, grpc: routes) and nothing else. */
function checkProtocolFit(
  l: Fields,
  at: readonly PropertyKey[],
  protocol: 'http' | 'grpc' | 'tcp',
  add: Add,
): void {
  for (const [key, protocols] of Object.entries(PROTOCOL_ONLY)) {
    if (l[key] !== undefined && !protocols.includes(protocol)) {
      add([...at, key], misplaced(key, protocol), {
        kind: 'misplaced',
        at: 'key',
        showValue: false,
      });
    }
  }
  const needed = protocol === 'tcp' ? 'upstream' : 'routes';
  const value = l[needed];
  if (value === undefined || (Array.isArray(value) && value.length === 0)) {
    const problem =
      protocol === 'tcp'
        ? 'a tcp listener needs an upstream'
        : `${article(protocol)} ${protocol} listener needs at least one route`;
    add([...at, needed], problem, {
      kind: 'missing',
      allowed: protocol === 'tcp' ? 'the name of an upstream' : 'a list of routes',
    });
  }
}

/** Route names, given or defaulted to `route-N`, are unique within a listener. */
function uniqueRouteNames(routes: readonly unknown[], at: readonly PropertyKey[], add: Add): void {
  const names = new Map<string, number>();
  routes.forEach((route, j) => {
    const r = fields(route);
    const name = r?.name === undefined ? `route-${j + 1}` : text(r.name);
    if (r === undefined || name === undefined) return;
    const first = names.get(name);
    if (first === undefined) {
      names.set(name, j);
      return;
    }
    const named = r.name !== undefined;
    add(
      named ? [...at, 'routes', j, 'name'] : [...at, 'routes', j],
      named
        ? `routes[${first}] has this name already`
        : `its default name ${name} is taken by routes[${first}]`,
      {
        kind: 'duplicate',
        allowed: 'a name no other route of this listener uses',
        showValue: named,
      },
    );
  });
}

function misplaced(key: string, protocol: string): string {
  if (key === 'routes') {
    return 'a tcp listener sends every connection to its one upstream and takes no routes';
  }
  if (key === 'upstream') {
    return `${article(protocol)} ${protocol} listener chooses the upstream per route: move it to routes[].upstream`;
  }
  if (ROUTE_FEATURES.has(key)) {
    return `${key} on ${article(protocol)} ${protocol} listener goes on each route (routes[].${key}); on a listener it applies to tcp listeners only`;
  }
  const owners = (PROTOCOL_ONLY[key] ?? []).join(' and ');
  return `${key} applies to ${owners} listeners only, not ${protocol}`;
}

function checkRoute(
  r: Fields,
  at: readonly PropertyKey[],
  protocol: string | undefined,
  upstreams: Set<string>,
  add: Add,
): void {
  const upstream = text(r.upstream);
  if (upstream !== undefined) checkReference(upstream, upstreams, [...at, 'upstream'], add);
  const alternate = text(fields(r.fallback)?.upstream);
  if (alternate !== undefined) {
    checkReference(alternate, upstreams, [...at, 'fallback', 'upstream'], add);
  }
  const match = fields(r.match);
  const hasPrefix = match?.pathPrefix !== undefined;
  const allowed = 'add match.pathPrefix, or remove this setting';
  if (r.stripPrefix === true && !hasPrefix) {
    add([...at, 'stripPrefix'], 'stripPrefix needs match.pathPrefix (the prefix to remove)', {
      kind: 'conflict',
      allowed,
    });
  }
  if (r.rewritePrefix !== undefined && !hasPrefix) {
    add([...at, 'rewritePrefix'], 'rewritePrefix needs match.pathPrefix (the prefix to replace)', {
      kind: 'conflict',
      allowed,
    });
  }
  if (r.stripPrefix === true && r.rewritePrefix !== undefined) {
    add([...at, 'rewritePrefix'], 'stripPrefix and rewritePrefix both change the prefix', {
      kind: 'conflict',
      allowed: 'one of them (rewritePrefix: / strips too)',
    });
  }
  if (protocol === 'grpc' && match?.methods !== undefined) {
    add(
      [...at, 'match', 'methods'],
      'gRPC calls are always POST, so methods cannot tell them apart',
      {
        kind: 'misplaced',
        at: 'key',
        showValue: false,
        allowed: 'path or pathPrefix on /package.Service/Method',
      },
    );
  }
}

/** Reports the upstream reference at `at` when no upstream has that name. */
function checkReference(
  name: string,
  upstreams: Set<string>,
  at: readonly PropertyKey[],
  add: Add,
): void {
  // An empty name is the schema's to report ("must not be empty").
  if (name === '' || upstreams.has(name)) return;
  add(at, 'no upstream has this name', {
    kind: 'reference',
    allowed:
      upstreams.size === 0
        ? 'an upstream defined under upstreams (there are none)'
        : [...upstreams].join(', '),
  });
}

function checkUpstream(u: Fields, at: readonly PropertyKey[], add: Add): void {
  discoveryCrossChecks(u, at, add);
  const balance = u.balance === undefined ? 'round-robin' : text(u.balance);
  if (u.hashKey !== undefined && balance !== undefined && balance !== 'hash') {
    add(
      [...at, 'hashKey'],
      `hashKey only applies to balance: hash, and this upstream uses ${balance}`,
      {
        kind: 'conflict',
        allowed: 'set balance: hash, or remove hashKey',
      },
    );
  }
  const seen = new Map<string, number>();
  list(u.targets).forEach((target, k) => {
    const address = text(target) ?? text(fields(target)?.address);
    const parsed =
      address === undefined ? undefined : parseHostPort(address, { allowPortZero: false });
    if (parsed?.ok !== true) return;
    const id = formatHostPort(parsed.value.host, parsed.value.port);
    const first = seen.get(id);
    if (first === undefined) seen.set(id, k);
    else {
      add([...at, 'targets', k], `the same target as targets[${first}]`, {
        kind: 'duplicate',
        allowed: 'each target once (give it a larger weight instead)',
      });
    }
  });
}

/**
 * An upstream a tcp listener uses can hash only on what a TCP connection
 * carries: the client's address. A header, cookie or path key would never be
 * found, and every connection would fall back to rotation, silently.
 */
function checkTcpHashKey(u: Fields, at: readonly PropertyKey[], add: Add): void {
  const key = text(u.hashKey);
  if (text(u.balance) !== 'hash' || key === undefined || key === 'client-ip') return;
  add(
    [...at, 'hashKey'],
    `a tcp listener uses this upstream, and a TCP connection has no ${key.split(':')[0] ?? key} to hash on`,
    {
      kind: 'conflict',
      allowed: 'hashKey: client-ip (or a separate upstream for the tcp listener)',
    },
  );
}

function uniqueNames(items: readonly unknown[], key: string, add: Add): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const name = text(fields(item)?.name);
    if (name === undefined) return;
    const first = seen.get(name);
    if (first === undefined) seen.set(name, i);
    else {
      add([key, i, 'name'], `${key}[${first}] has this name already`, {
        kind: 'duplicate',
        allowed: 'a unique name',
      });
    }
  });
}

/** "an http", "a grpc", "a tcp" (as the letters are read aloud). */
function article(protocol: string): string {
  return protocol === 'http' ? 'an' : 'a';
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function isString(value: string | undefined): value is string {
  return value !== undefined;
}
