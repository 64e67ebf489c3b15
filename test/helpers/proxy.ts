import { execFileSync } from 'node:child_process';
import type { ServerHttp2Stream } from 'node:http2';
import { join } from 'node:path';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/proxy/gateway.js';
import { parseConfigText } from '../../src/proxy/config/load.js';
import { startBackend } from '../../src/backend/start-backend.js';
import type { RunningBackend } from '../../src/backend/backend-options.js';

export type BackendKind = 'http' | 'ws' | 'grpc' | 'tcp';

/** A gateway started from YAML in-process, with its access log kept. */
export interface TestGateway {
  readonly gateway: Gateway;
  readonly log: string[];
  /** The bound port of the listener called `name`. */
  port(name: string): number;
  close(): Promise<void>;
}

/** Starts `n` in-process backends named `${prefix}-1..n`. */
export async function startBackends(
  kind: BackendKind,
  prefix: string,
  n: number,
  options: { latencyMs?: number; failRate?: number; banner?: boolean } = {},
): Promise<RunningBackend[]> {
  const backends: RunningBackend[] = [];
  for (let i = 1; i <= n; i++) {
    backends.push(await startBackend(kind, { port: 0, name: `${prefix}-${i}`, ...options }));
  }
  return backends;
}

/** `127.0.0.1:port` list for YAML flow sequences. */
export function targets(backends: readonly { port: number }[]): string {
  return `[${backends.map((b) => `"127.0.0.1:${b.port}"`).join(', ')}]`;
}

/** Starts a gateway from YAML (listeners on port 0), collecting access-log lines. */
export async function startTestGateway(
  yaml: string,
  options: Pick<GatewayOptions, 'routeMiddleware' | 'tcpMiddleware'> = {},
): Promise<TestGateway> {
  const config = parseConfigText(yaml, 'test.yaml');
  const log: string[] = [];
  const gateway = await startGateway(config, { ...options, accessLog: (line) => log.push(line) });
  return {
    gateway,
    log,
    port(name) {
      const listener = gateway.listeners.find((l) => l.name === name);
      if (!listener) throw new Error(`no listener ${name}`);
      return listener.port;
    },
    close: () => gateway.close(200),
  };
}

/**
 * A gateway with one listener (`web` for http, `rpc` for grpc) sending every
 * request round-robin to the targets on 127.0.0.1 `ports`, upstream `t`.
 */
export function gatewayTo(
  protocol: 'http' | 'grpc',
  ports: readonly number[],
): Promise<TestGateway> {
  const name = protocol === 'grpc' ? 'rpc' : 'web';
  return startTestGateway(`
listeners:
  - { name: ${name}, protocol: ${protocol}, listen: 127.0.0.1:0, routes: [{ match: { pathPrefix: / }, upstream: t }] }
upstreams:
  - { name: t, balance: round-robin, targets: ${targets(ports.map((port) => ({ port })))} }
`);
}

/** Counts how often each value occurs. */
export function tally(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/**
 * Makes a throwaway self-signed certificate for localhost and 127.0.0.1 in
 * `dir` with openssl; returns the PEM paths.
 */
export function makeCert(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}-cert.pem`);
  const key = join(dir, `${name}-key.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/**
 * Answers a bare HTTP/2 stream as a gRPC target would, with the request's
 * own bytes after `delayMs` and status 0. An EchoRequest's `message` is
 * field 1, as is an EchoReply's, so an Echo client reads its message back.
 */
export function echoGrpcStream(stream: ServerHttp2Stream, delayMs = 0): void {
  stream.on('error', () => undefined);
  const parts: Buffer[] = [];
  stream.on('data', (c: Buffer) => parts.push(c));
  stream.on('end', () => {
    const answer = (): void => {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc' },
        { waitForTrailers: true },
      );
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.concat(parts));
    };
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
}
