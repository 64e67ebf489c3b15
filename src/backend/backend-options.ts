import { invalidArgument } from '../shared/errors.js';
import type { BackendEvent } from './backend-event.js';

/** The four kinds of demo upstream. */
export type BackendKind = 'http' | 'ws' | 'grpc' | 'tcp';

/** The kinds, in the order help text lists them. */
export const BACKEND_KINDS: readonly BackendKind[] = ['http', 'ws', 'grpc', 'tcp'];

/**
 * What a backend name may be: printable ASCII, no leading or trailing space,
 * because it travels in an HTTP header and in gRPC metadata.
 */
export const NAME_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** Options shared by every `start*Backend` function. */
export interface BackendOptions {
  /** Address to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port; 0 picks a free one (see {@link RunningBackend.port}). */
  port: number;
  /** Echoed in every reply. Default `backend-<port>` (the port actually bound). */
  name?: string;
  /** Delay before each reply (HTTP response, ws echo, gRPC message, tcp chunk), in ms. Default 0. */
  latencyMs?: number;
  /** Share of requests (0..1) answered with an injected failure. Default 0. */
  failRate?: number;
  /** Source of randomness for `failRate`, `[0, 1)`; default `Math.random`. */
  random?: () => number;
  /**
   * Fail health checks from the start: http `/healthz` answers 503, gRPC
   * Health/Check NOT_SERVING (http: `POST /healthz/ok` and `/healthz/fail` switch). Default false.
   */
  failHealth?: boolean;
  /** Receives one event per request, call or connection; must not throw. */
  onEvent?: (event: BackendEvent) => void;
}

/** A started backend. */
export interface RunningBackend {
  readonly kind: BackendKind;
  /** The bound address, as the operating system reports it. */
  readonly host: string;
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  readonly name: string;
  /** Stops listening, drops open connections and calls, and resolves when all are gone. */
  close(): Promise<void>;
}

/** {@link BackendOptions} validated, with every default filled in except the name. */
export interface ResolvedOptions {
  host: string;
  port: number;
  name: string | undefined;
  latencyMs: number;
  failRate: number;
  random: () => number;
  /** Health checks fail now (mutable: the http backend's /healthz/fail and /healthz/ok switch it). */
  failHealth: boolean;
  onEvent: (event: BackendEvent) => void;
}

/**
 * Validates backend options and fills in the defaults. Every problem is a
 * GW_ERR_INVALID_ARGUMENT naming the option, so a bad value fails before a
 * port opens.
 */
export function backendOptions(options: BackendOptions): ResolvedOptions {
  const { port } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalidArgument('port', port, 'expected a whole number 0-65535');
  }
  const latencyMs = options.latencyMs ?? 0;
  if (!Number.isFinite(latencyMs) || latencyMs < 0) {
    throw invalidArgument('latencyMs', latencyMs, 'expected a number of milliseconds, 0 or more');
  }
  const failRate = options.failRate ?? 0;
  if (!Number.isFinite(failRate) || failRate < 0 || failRate > 1) {
    throw invalidArgument('failRate', failRate, 'expected a share between 0 and 1');
  }
  if (options.name !== undefined && !NAME_PATTERN.test(options.name)) {
    throw invalidArgument('name', options.name, 'expected printable ASCII, not empty');
  }
  return {
    host: options.host ?? '127.0.0.1',
    port,
    name: options.name,
    latencyMs,
    failRate,
    random: options.random ?? Math.random,
    failHealth: options.failHealth ?? false,
    onEvent: options.onEvent ?? (() => undefined),
  };
}

/** The backend's name: the one given, or `backend-<port>` for the port actually bound. */
export function backendName(options: ResolvedOptions, boundPort: number): string {
  return options.name ?? `backend-${boundPort}`;
}

/** One draw: true for the share `failRate` of calls (never when it is 0, always when 1). */
export function shouldFail(options: ResolvedOptions): boolean {
  if (options.failRate <= 0) return false;
  if (options.failRate >= 1) return true;
  return options.random() < options.failRate;
}

/**
 * Resolves after `ms` milliseconds, or at once when `signal` aborts (never
 * rejects), so a closing backend is not held open by pending delays.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * A request's target (`/path?query`) as a URL, or undefined when it cannot
 * be one (`http://[x/`): the caller answers 400 rather than throwing.
 */
export function requestUrl(target: string): URL | undefined {
  try {
    return new URL(target, 'http://backend.invalid');
  } catch {
    return undefined;
  }
}
