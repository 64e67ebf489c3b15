/**
 * Config files for the proxies under test: gw (JSON, which `gw proxy`
 * accepts as well as YAML), nginx and HAProxy. Each proxy listens on
 * 127.0.0.1 and forwards to one backend on 127.0.0.1. Reference proxies are
 * configured the way their documentation recommends for the job (upstream
 * keep-alive, HTTP/1.1 towards the backend, one worker or thread), not tuned
 * beyond that; access logs are on for gw, nginx and HAProxy alike.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { HOST } from './procs.js';

export type Protocol = 'http' | 'ws' | 'grpc' | 'tcp';

/**
 * The active health check of the `gw-health` candidate: an HTTP probe a
 * second (ten times the default rate). The bench backends serve files, not
 * /healthz: any answer below 500 passes, so the target stays in service.
 */
export const BENCH_HEALTH_CHECK = { type: 'http', intervalMs: 1000, expectStatus: '200-499' };

/**
 * The circuit breaker of the `gw-cb` candidate: every call is counted in its
 * window, but it never opens (failureRate 1 and a huge minCalls), so the
 * figure is the cost of a configured breaker, not of refusals.
 */
export const BENCH_BREAKER = { failureRate: 1, minCalls: 1_000_000_000, windowMs: 10_000 };

/**
 * Route features the `gw-feat` candidate configures, chosen to let every
 * request through: the cost of a configured feature, not of refusals.
 */
const BENCH_FEATURES = {
  allowFrom: ['0.0.0.0/0', '::/0'],
  responseHeaders: { 'x-bench': 'features' },
};

/** The route auth of the `gw-jwt` candidate: RS256 with the key in `publicKeyFile`. */
function benchJwtAuth(publicKeyFile: string) {
  return {
    auth: {
      type: 'jwt',
      publicKeyFile,
      algorithms: ['RS256'],
      issuer: 'bench',
      audience: 'gw-bench',
    },
  };
}

/**
 * The rate limit of the `gw-rl` candidate: keyed by client IP (every request
 * looks its client up in the store and updates it), so high that it never
 * refuses: the cost of limiting, not of refusals.
 */
export const BENCH_RATE_LIMIT = { rps: 1e9, burst: 1e9, key: 'client-ip' };

/**
 * The rate limits of the `gw-rl-redis` candidates, kept in a redis-server
 * started for the run (`store: redis`). `gw-rl-redis`: BENCH_RATE_LIMIT,
 * far from its limit, so each request is admitted locally and charged to
 * Redis in the background (the usual case). `gw-rl-redis-wait`: a burst of
 * 1, so no request is admitted locally and every one waits for the GCRA
 * script's answer (the cost of a key near its limit); at 1e9 rps (1 µs
 * apart on Redis's clock) it refuses nothing, as one script call takes
 * longer than that.
 */
export const BENCH_REDIS_RATE_LIMIT = {
  'gw-rl-redis': { ...BENCH_RATE_LIMIT, store: 'redis' },
  'gw-rl-redis-wait': { ...BENCH_RATE_LIMIT, burst: 1, store: 'redis' },
} as const;

/**
 * gw's config: one listener with one route, round-robin over ONE target;
 * with `features`, the route (or tcp listener) carries BENCH_FEATURES; with
 * `rateLimit`, the route carries BENCH_RATE_LIMIT; with
 * `jwtKeyFile`, the route requires an RS256 JWT verified with that key; with
 * `redis`, the route carries a limit kept in that Redis (BENCH_REDIS_RATE_LIMIT).
 */
export function gwConfig(
  protocol: Protocol,
  backendPort: number,
  features = false,
  health = false,
  breaker = false,
  rateLimit = false,
  jwtKeyFile?: string,
  redis?: { url: string; variant: keyof typeof BENCH_REDIS_RATE_LIMIT },
): string {
  const upstream = {
    name: 'be',
    balance: 'round-robin',
    targets: [`${HOST}:${backendPort}`],
    ...(health ? { healthCheck: BENCH_HEALTH_CHECK } : {}),
    ...(breaker ? { circuitBreaker: BENCH_BREAKER } : {}),
  };
  const listener =
    protocol === 'tcp'
      ? {
          name: 'bench',
          protocol: 'tcp',
          listen: `${HOST}:0`,
          upstream: 'be',
          ...(features ? { allowFrom: BENCH_FEATURES.allowFrom } : {}),
        }
      : {
          name: 'bench',
          // WebSocket upgrades go through an http listener's routes.
          protocol: protocol === 'grpc' ? 'grpc' : 'http',
          listen: `${HOST}:0`,
          accessLog: true,
          routes: [
            {
              name: 'all',
              match: { pathPrefix: '/' },
              upstream: 'be',
              ...(features ? BENCH_FEATURES : {}),
              ...(rateLimit ? { rateLimit: BENCH_RATE_LIMIT } : {}),
              ...(redis === undefined ? {} : { rateLimit: BENCH_REDIS_RATE_LIMIT[redis.variant] }),
              ...(jwtKeyFile === undefined ? {} : benchJwtAuth(jwtKeyFile)),
            },
          ],
        };
  const store = redis === undefined ? {} : { store: { redis: redis.url } };
  return `${JSON.stringify({ ...store, listeners: [listener], upstreams: [upstream] }, null, 2)}\n`;
}

/** What this nginx binary can do: the stream module may be a separate package. */
export interface NginxInfo {
  readonly path: string | undefined;
  /** `load_module ...;` line needed for `stream {}`, '' when built in, undefined when missing. */
  readonly streamModule: string | undefined;
  readonly version: string;
}

export function nginxInfo(): NginxInfo {
  const found = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((p) =>
    existsSync(p),
  );
  if (found === undefined) return { path: undefined, streamModule: undefined, version: '' };
  const v = spawnSync(found, ['-V'], { encoding: 'utf8' });
  const text = `${v.stdout}${v.stderr}`;
  const version = /nginx version: (\S+)/.exec(text)?.[1] ?? '?';
  let streamModule: string | undefined;
  if (/--with-stream(\s|$)/.test(text)) streamModule = '';
  else {
    const so = [
      '/usr/lib/nginx/modules/ngx_stream_module.so',
      '/usr/share/nginx/modules/ngx_stream_module.so',
    ];
    const module = so.find((p) => existsSync(p));
    if (module !== undefined) streamModule = `load_module ${module};`;
  }
  return { path: found, streamModule, version };
}

/** nginx's default here: enough for the load generators of bench/proxy. */
const WORKER_CONNECTIONS = 4096;

function nginxMain(
  dir: string,
  top = '',
  workerConnections = WORKER_CONNECTIONS,
  workerProcesses = 1,
): string {
  return `${top}
worker_processes ${workerProcesses};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${workerConnections}; }
`;
}

function nginxHttpCommon(dir: string, accessLog: boolean): string {
  return `  ${accessLog ? `access_log ${dir}/access.log combined buffer=64k flush=1s;` : 'access_log off;'}
  default_type application/octet-stream;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy_temp;
  fastcgi_temp_path ${dir}/fastcgi_temp;
  uwsgi_temp_path ${dir}/uwsgi_temp;
  scgi_temp_path ${dir}/scgi_temp;
`;
}

/** nginx serving static files from `root` (the HTTP backend; no log, sendfile, open file cache). */
export function nginxStaticConfig(dir: string, port: number, root: string): string {
  return `${nginxMain(dir)}http {
${nginxHttpCommon(dir, false)}  sendfile on;
  tcp_nopush on;
  open_file_cache max=16 inactive=1h;
  open_file_cache_valid 1h;
  server {
    listen ${HOST}:${port};
    root ${root};
  }
}
`;
}

/**
 * nginx as the proxy under test for `protocol`, listening on `port`;
 * `workerConnections` raised by bench/attack, whose attackers hold thousands;
 * `workerProcesses` 2 for the `nginx-w2` candidate.
 */
export function nginxProxyConfig(
  dir: string,
  protocol: Protocol,
  port: number,
  backendPort: number,
  streamModule = '',
  workerConnections = WORKER_CONNECTIONS,
  workerProcesses = 1,
): string {
  if (protocol === 'tcp') {
    return `${nginxMain(dir, streamModule, workerConnections, workerProcesses)}stream {
  server {
    listen ${HOST}:${port};
    proxy_pass ${HOST}:${backendPort};
  }
}
`;
  }
  const location = {
    // The documented keep-alive recipe: HTTP/1.1 upstream, Connection header cleared.
    // Buffers big enough for a 64 KiB body, so no response is spooled to a temp file.
    http: `proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffer_size 16k;
      proxy_buffers 8 16k;`,
    ws: `proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 1h;`,
    grpc: `grpc_pass grpc://be;`,
  }[protocol];
  return `${nginxMain(dir, '', workerConnections, workerProcesses)}http {
${nginxHttpCommon(dir, true)}  upstream be {
    server ${HOST}:${backendPort};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen ${HOST}:${port}${protocol === 'grpc' ? ' http2' : ''};
    location / {
      ${location}
    }
  }
}
`;
}

export function haproxyVersion(): string | undefined {
  const v = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  if (v.status !== 0) return undefined;
  return /version (\S+)/.exec(v.stdout)?.[1] ?? '?';
}

/** HAProxy as the proxy under test: one thread, access log to stdout (a file). */
export function haproxyConfig(protocol: Protocol, port: number, backendPort: number): string {
  const tcp = protocol === 'tcp';
  const h2 = protocol === 'grpc' ? ' proto h2' : '';
  return `global
  nbthread 1
  maxconn 4096
  log stdout format raw local0 info

defaults
  mode ${tcp ? 'tcp' : 'http'}
  log global
  option ${tcp ? 'tcplog' : 'httplog'}
${tcp ? '' : '  option http-keep-alive\n'}  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout tunnel 1h

frontend fe
  bind ${HOST}:${port}${h2}
  default_backend be

backend be
  server s1 ${HOST}:${backendPort}${h2}
`;
}
