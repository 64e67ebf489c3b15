import type { RunningBackend } from '../../backend/backend-options.js';

/** The demo's ports: http listener on `base`, grpc on `base + 1`, tcp on `base + 2`. */
export interface DemoPorts {
  readonly http: number;
  readonly grpc: number;
  readonly tcp: number;
}

export function demoPorts(base: number): DemoPorts {
  return { http: base, grpc: base + 1, tcp: base + 2 };
}

export interface DemoBackends {
  readonly http: readonly RunningBackend[];
  readonly ws: readonly RunningBackend[];
  readonly grpc: readonly RunningBackend[];
  readonly tcp: readonly RunningBackend[];
}

function list(backends: readonly RunningBackend[]): string {
  return backends.map((b) => `"127.0.0.1:${b.port}"`).join(', ');
}

/**
 * The demo's embedded config, as YAML a user could copy into gw.yaml: one
 * listener per protocol and an upstream of three backends each, showing
 * round-robin, weighted and hash balancing side by side.
 */
export function demoConfigYaml(ports: DemoPorts, b: DemoBackends): string {
  const [h1, h2, h3] = b.http;
  return `# gw demo: the embedded default config (backends on free ports)
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:${ports.http}
    routes:
      - { name: api, match: { pathPrefix: /api }, upstream: api }
      - { name: weighted, match: { pathPrefix: /weighted }, upstream: api-weighted, stripPrefix: true }
      - { name: sticky, match: { pathPrefix: /sticky }, upstream: api-sticky }
      - { name: ws, match: { pathPrefix: /ws }, upstream: ws }
  - name: rpc
    protocol: grpc
    listen: 127.0.0.1:${ports.grpc}
    routes:
      - { name: echo, match: { pathPrefix: /gw.echo.v1.Echo/ }, upstream: echo }
  - name: raw
    protocol: tcp
    listen: 127.0.0.1:${ports.tcp}
    upstream: tcp-echo
upstreams:
  - { name: api, balance: round-robin, targets: [${list(b.http)}] }
  - name: api-weighted
    balance: weighted
    targets:
      - { address: "127.0.0.1:${h1?.port}", weight: 3 }
      - { address: "127.0.0.1:${h2?.port}", weight: 2 }
      - { address: "127.0.0.1:${h3?.port}", weight: 1 }
  - { name: api-sticky, balance: hash, hashKey: "header:x-user", targets: [${list(b.http)}] }
  - { name: ws, balance: round-robin, targets: [${list(b.ws)}] }
  - { name: echo, balance: round-robin, targets: [${list(b.grpc)}] }
  - { name: tcp-echo, balance: round-robin, targets: [${list(b.tcp)}] }
`;
}
