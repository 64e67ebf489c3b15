import type { BackendKind } from '../../backend/backend-options.js';
import { sha256Hex } from '../middleware/auth/consumers.js';

/** The API key of the demo's consumer, for the authenticated route (`/private`). */
export const DEMO_API_KEY = 'demo-key';

/** The demo's ports: http listener on `base`, grpc on `base + 1`, tcp on `base + 2`. */
export interface DemoPorts {
  readonly http: number;
  readonly grpc: number;
  readonly tcp: number;
}

export function demoPorts(base: number): DemoPorts {
  return { http: base, grpc: base + 1, tcp: base + 2 };
}

/** The base port `gw demo` uses when not given `--base-port`. */
export const DEFAULT_BASE_PORT = 8080;

/** `--base-port P` when the demo is not on its default ports, for commands that need it. */
export function basePortFlag(ports: DemoPorts): string {
  return ports.http === DEFAULT_BASE_PORT ? '' : ` --base-port ${ports.http}`;
}

/** Where one demo backend listens (a running backend has more; only the port is needed). */
export interface BackendPort {
  readonly port: number;
}

/** The three backends of each kind the demo config points at. */
export type DemoBackends = Readonly<Record<BackendKind, readonly BackendPort[]>>;

/** Backend names per kind, as the demo names them (`api-1`, `ws-1`, ...). */
export const BACKEND_PREFIX: Readonly<Record<BackendKind, string>> = {
  http: 'api',
  ws: 'ws',
  grpc: 'grpc',
  tcp: 'tcp',
};

/**
 * The fixed ports of `gw demo --print-config`, one hundred apart per kind
 * (as in `gw backend --help`): http 9001-9003, ws 9101-9103, grpc
 * 9201-9203, tcp 9301-9303. Each kind needs its own backends: a gRPC call or
 * a WebSocket upgrade sent to the HTTP backend fails.
 */
export function fixedBackendPorts(): DemoBackends {
  const three = (first: number): BackendPort[] => [0, 1, 2].map((i) => ({ port: first + i }));
  return { http: three(9001), ws: three(9101), grpc: three(9201), tcp: three(9301) };
}

/**
 * The shell lines, one per kind, that start the backends `config` points at
 * with the names the demo gives them (`--banner` for tcp: the demo's probe
 * reads the backend's name from it).
 */
export function backendCommands(backends: DemoBackends, gw = 'npx gw'): string[] {
  return (Object.keys(BACKEND_PREFIX) as BackendKind[]).map((kind) => {
    const ports = backends[kind].map((b) => b.port).join(' ');
    const banner = kind === 'tcp' ? ' --banner' : '';
    const prefix = BACKEND_PREFIX[kind];
    return `i=0; for p in ${ports}; do i=$((i+1)); ${gw} backend ${kind} --port $p --name ${prefix}-$i${banner} & done`;
  });
}

/** The demo's health checks: short intervals, so a killed backend leaves within about a second. */
function check(type: 'http' | 'grpc' | 'tcp'): string {
  return `{ type: ${type}, intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 2, unhealthyIntervalMs: 500 }`;
}

function list(backends: readonly BackendPort[]): string {
  return backends.map((b) => `"127.0.0.1:${b.port}"`).join(', ');
}

/**
 * The demo's embedded config, as YAML a user could copy into gw.yaml: one
 * listener per protocol and an upstream of three backends each, showing
 * round-robin, weighted and hash balancing side by side. `header` is a block
 * of comment lines (each starting with `#`) put at the top.
 */
export function demoConfigYaml(
  ports: DemoPorts,
  b: DemoBackends,
  header = '# gw demo: the embedded default config (backends on free ports)',
): string {
  const [h1, h2, h3] = b.http;
  return `${header}
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:${ports.http}
    routes:
      - { name: api, match: { pathPrefix: /api }, upstream: api }
      - { name: weighted, match: { pathPrefix: /weighted }, upstream: api-weighted, stripPrefix: true }
      - { name: sticky, match: { pathPrefix: /sticky }, upstream: api-sticky }
      # 限流: 2 requests a second per client (a burst of 2); the third in a second gets 429.
      - name: limited
        match: { pathPrefix: /limited }
        upstream: api
        rateLimit: { rps: 2, burst: 2, key: client-ip, headers: true }
      # 鉴权: only the demo consumer's API key gets through (401 without it); it reaches the
      # backend as x-gw-consumer: demo.
      - name: private
        match: { pathPrefix: /private }
        upstream: api
        auth: { type: api-key, header: x-api-key }
      - { name: ws, match: { pathPrefix: /ws }, upstream: ws }
      # Anything else goes to the http backends too; in gw demo they answer GET / with what to try.
      - { name: index, match: { pathPrefix: / }, upstream: api }
  - name: rpc
    protocol: grpc
    listen: 127.0.0.1:${ports.grpc}
    routes:
      - { name: echo, match: { pathPrefix: /gw.echo.v1.Echo/ }, upstream: echo }
  - name: raw
    protocol: tcp
    listen: 127.0.0.1:${ports.tcp}
    upstream: tcp-echo
consumers:
  # The key is ${DEMO_API_KEY}; the config keeps only its SHA-256.
  - { name: demo, apiKeys: ["sha256:${sha256Hex(DEMO_API_KEY)}"] }
upstreams:
  # Active health checks (one a second; unhealthy after 2 failures, back after 2 passes):
  # kill a backend and the gateway routes around it; start it again and it returns.
  - { name: api, balance: round-robin, targets: [${list(b.http)}], healthCheck: ${check('http')} }
  - name: api-weighted
    balance: weighted
    targets:
      - { address: "127.0.0.1:${h1?.port}", weight: 3 }
      - { address: "127.0.0.1:${h2?.port}", weight: 2 }
      - { address: "127.0.0.1:${h3?.port}", weight: 1 }
    healthCheck: ${check('http')}
  - { name: api-sticky, balance: hash, hashKey: "header:x-user", targets: [${list(b.http)}], healthCheck: ${check('http')} }
  - { name: ws, balance: round-robin, targets: [${list(b.ws)}], healthCheck: ${check('http')} }
  - { name: echo, balance: round-robin, targets: [${list(b.grpc)}], healthCheck: ${check('grpc')} }
  - { name: tcp-echo, balance: round-robin, targets: [${list(b.tcp)}], healthCheck: ${check('tcp')} }
`;
}

/**
 * What `gw demo --print-config` prints: the demo's config pointed at the
 * fixed backend ports, headed by the commands that start those backends and
 * the gateway, so that config works as printed.
 */
export function printedConfig(basePort: number, gw = 'npx gw'): string {
  const backends = fixedBackendPorts();
  const ports = demoPorts(basePort);
  const base = basePortFlag(ports);
  const header = [
    '# gw demo --print-config: the demo config, with its backends on fixed ports.',
    '# Save it as gw.yaml, then start the twelve backends it points at (bash; stop them with: kill $(jobs -p)):',
    ...backendCommands(backends, gw).map((line) => `#   ${line}`),
    '# and the gateway, and call it:',
    `#   ${gw} proxy --config gw.yaml`,
    `#   ${gw} demo call http${base}; ${gw} demo call ws${base}; ${gw} demo call grpc${base}; ${gw} demo call tcp${base}`,
  ].join('\n');
  return demoConfigYaml(ports, backends, header);
}
