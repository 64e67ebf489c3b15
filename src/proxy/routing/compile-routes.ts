import type { RouteConfig } from '../config/types.js';

/** A route compiled once at load time into cheap per-request checks. */
export interface CompiledRoute {
  readonly config: RouteConfig;
  readonly name: string;
  readonly upstream: string;
  /** True when the request matches every condition of the route. */
  matches(request: RouteRequest): boolean;
  /** The path to forward: with `stripPrefix`/`rewritePrefix` applied. */
  rewrite(url: string): string;
}

/** What routing looks at. `headers` values as Node gives them. */
export interface RouteRequest {
  readonly method: string;
  /** Host without port, lower case. */
  readonly host: string;
  /** Path only, no query. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Compiles a listener's routes; the first that matches wins. */
export function compileRoutes(routes: readonly RouteConfig[]): CompiledRoute[] {
  return routes.map(compileRoute);
}

/** The first route that matches, or undefined (the listener answers 404). */
export function matchRoute(
  routes: readonly CompiledRoute[],
  request: RouteRequest,
): CompiledRoute | undefined {
  for (const route of routes) if (route.matches(request)) return route;
  return undefined;
}

function compileRoute(config: RouteConfig): CompiledRoute {
  const checks: ((r: RouteRequest) => boolean)[] = [];
  const { match } = config;
  if (match.host !== undefined) checks.push(hostCheck(match.host.toLowerCase()));
  if (match.path !== undefined) {
    const exact = match.path;
    // `/admin;jsessionid=1` is /admin to targets that strip path parameters (Tomcat, Jetty).
    checks.push(
      (r) =>
        r.path === exact ||
        (r.path.startsWith(exact) && r.path.charCodeAt(exact.length) === 59) /* ; */,
    );
  }
  if (match.pathPrefix !== undefined) checks.push(prefixCheck(match.pathPrefix));
  if (match.pathRegex !== undefined) {
    const regex = new RegExp(match.pathRegex);
    checks.push((r) => regex.test(r.path));
  }
  if (match.methods !== undefined) {
    const methods = new Set(match.methods);
    checks.push((r) => methods.has(r.method));
  }
  if (match.headers !== undefined) {
    for (const [name, value] of Object.entries(match.headers)) {
      checks.push((r) => headerEquals(r.headers[name], value));
    }
  }
  return {
    config,
    name: config.name,
    upstream: config.upstream,
    matches: allOf(checks),
    rewrite: rewriter(config),
  };
}

function allOf(checks: readonly ((r: RouteRequest) => boolean)[]): (r: RouteRequest) => boolean {
  if (checks.length === 0) return () => true;
  if (checks.length === 1) return checks[0] ?? (() => true);
  return (r) => {
    for (const check of checks) if (!check(r)) return false;
    return true;
  };
}

/** `example.test` exactly, or `*.example.test` for exactly one more label. */
function hostCheck(pattern: string): (r: RouteRequest) => boolean {
  // An IPv6 host is written in brackets (`[::1]`, as in a URL); requests' hosts come without them.
  if (pattern.startsWith('[') && pattern.endsWith(']')) {
    const address = pattern.slice(1, -1);
    return (r) => r.host === address;
  }
  if (!pattern.startsWith('*.')) return (r) => r.host === pattern;
  const suffix = pattern.slice(1); // ".example.test"
  return (r) => {
    if (!r.host.endsWith(suffix)) return false;
    const label = r.host.slice(0, r.host.length - suffix.length);
    return label.length > 0 && !label.includes('.');
  };
}

/**
 * A path prefix matches on segment boundaries: `/api` matches `/api`,
 * `/api/`, `/api/users` and `/api;v=1` (a `;` starts path parameters, which
 * some targets strip: `/api;v=1/users` is `/api/users` to them), not
 * `/apiary`. A prefix ending in `/` matches anything below it.
 */
function prefixCheck(prefix: string): (r: RouteRequest) => boolean {
  if (prefix === '/' || prefix.endsWith('/')) return (r) => r.path.startsWith(prefix);
  return (r) => {
    if (!r.path.startsWith(prefix)) return false;
    const next = r.path.charCodeAt(prefix.length);
    return Number.isNaN(next) || next === 47 /* / */ || next === 59; /* ; */
  };
}

function headerEquals(actual: string | string[] | undefined, expected: string): boolean {
  if (actual === undefined) return false;
  return Array.isArray(actual) ? actual.includes(expected) : actual === expected;
}

function rewriter(config: RouteConfig): (url: string) => string {
  const prefix = config.match.pathPrefix;
  if (prefix === undefined) return (url) => url;
  const replacement = config.rewritePrefix ?? (config.stripPrefix ? '' : undefined);
  if (replacement === undefined) return (url) => url;
  return (url) => joinPath(replacement, url.slice(prefix.length));
}

/**
 * The replacement and the rest of the path after the matched prefix, with
 * exactly one `/` where they meet (`/` + `/users`, `/v2` + `users` both give
 * one), and never an empty or relative path: a doubled slash would reach the
 * target as a different path (`//users` is a network-path reference to many
 * servers), a missing one would merge two segments.
 */
function joinPath(replacement: string, rest: string): string {
  const endsInSlash = replacement.endsWith('/');
  let joined: string;
  if (rest === '' || rest.startsWith('?')) joined = replacement + rest;
  else if (rest.startsWith('/'))
    joined = endsInSlash ? replacement + rest.slice(1) : replacement + rest;
  else joined = endsInSlash ? replacement + rest : `${replacement}/${rest}`;
  return joined.startsWith('/') ? joined : `/${joined}`;
}
