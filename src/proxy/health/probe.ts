/**
 * One probe of one target, bounded by the check's `timeoutMs`: straight to
 * the target's address (or the check's `port`), never through a balancer or
 * the gateway's pools. Resolves with a {@link ProbeResult}; never rejects.
 */
import type { HealthCheckConfig } from './schema.js';
import type { FailureKind, ProbeResult } from './active-state.js';
import { probeHttp } from './probe-http.js';
import { probeTcp } from './probe-tcp.js';
import { probeGrpc } from './probe-grpc.js';

/** Where a probe goes. */
export interface ProbeAddress {
  readonly host: string;
  readonly port: number;
  /** The target's address as written, the default Host header. */
  readonly id: string;
  /** Probe over TLS (the upstream's `tls`). */
  readonly tls: boolean;
}

/** Most bytes of an answer a probe reads (body substring, tcp expect). */
export const PROBE_READ_LIMIT = 64 * 1024;

/** Runs one probe of `check` against `address`. */
export function runProbe(check: HealthCheckConfig, address: ProbeAddress): Promise<ProbeResult> {
  const to = check.port === undefined ? address : { ...address, port: check.port };
  switch (check.type) {
    case 'http':
      return probeHttp(check, to);
    case 'tcp':
      return probeTcp(check, to);
    case 'grpc':
      return probeGrpc(check, to);
  }
}

export const passed: ProbeResult = { ok: true };

export function failed(kind: FailureKind, reason: string): ProbeResult {
  return { ok: false, kind, reason };
}

export function timedOut(timeoutMs: number): ProbeResult {
  return failed('timeout', `timeout after ${timeoutMs} ms`);
}

/** `connect ECONNREFUSED` for a failure before the connection was up, `ECONNRESET` after. */
export function errorResult(err: unknown, connected: boolean): ProbeResult {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const text = code ?? (err instanceof Error ? err.message : String(err));
  return connected ? failed('answer', `error ${text}`) : failed('connect', `connect ${text}`);
}

/**
 * A one-shot settle: the first of result, error or timeout wins, `cleanup`
 * runs once. Returns `settle` and arms the timeout.
 */
export function oneShot(
  timeoutMs: number,
  resolve: (result: ProbeResult) => void,
  cleanup: () => void,
): (result: ProbeResult) => void {
  let done = false;
  const settle = (result: ProbeResult): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    cleanup();
    resolve(result);
  };
  const timer = setTimeout(() => settle(timedOut(timeoutMs)), timeoutMs);
  timer.unref();
  return settle;
}
