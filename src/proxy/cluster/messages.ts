/**
 * The IPC messages between a `gw proxy --workers N` primary and its workers
 * (JSON over the cluster channel). The primary runs the control plane (the
 * config source, health checks, discovery) and tells each worker the config
 * revision to serve and every upstream's targets and verdicts; workers run
 * the listeners and say what they did.
 */
import type { UpstreamSnapshot } from '../upstream/upstream-runtime.js';

/** A listener as a worker bound it. */
export interface BoundListener {
  readonly name: string;
  readonly protocol: string;
  readonly host: string;
  readonly port: number;
}

export type ToWorker =
  /** A config revision to serve: its text, parsed again by the worker under `source`. */
  | {
      readonly type: 'config';
      readonly revision: string;
      readonly body: string;
      readonly source: string;
    }
  /** Every upstream's discovered targets and health verdicts, as the primary sees them now. */
  | { readonly type: 'upstreams'; readonly upstreams: readonly UpstreamSnapshot[] }
  /** Stop gracefully: stop accepting, give requests in flight `graceMs`, exit 0. */
  | { readonly type: 'stop'; readonly graceMs: number };

export type FromWorker =
  /** The worker listens for messages: send it the config. */
  | { readonly type: 'hello' }
  /** Its first config serves. */
  | {
      readonly type: 'ready';
      readonly revision: string;
      readonly listeners: readonly BoundListener[];
    }
  /** Its first config could not start (an address in use): it exits with `exitCode`. */
  | ({ readonly type: 'failed'; readonly revision: string } & WorkerError)
  /** A later revision is in force (`changes`: the listener phrases of the reload). */
  | { readonly type: 'applied'; readonly revision: string; readonly changes: readonly string[] }
  /** A later revision could not be put in force; the worker serves the one it had. */
  | ({ readonly type: 'rejected'; readonly revision: string } & WorkerError);

/** A worker's GwError, as plain data (see workerFailed in shared/errors.ts). */
export interface WorkerError {
  readonly code: string;
  /** The error in one line (a config error: its first issues with their places). */
  readonly message: string;
  readonly hint?: string;
  readonly exitCode: number;
}

/** What arrived on a worker's channel, if it is one of ours. */
export function toWorker(value: unknown): ToWorker | undefined {
  return hasType(value) ? (value as ToWorker) : undefined;
}

/** What arrived from a worker, if it is one of ours. */
export function fromWorker(value: unknown): FromWorker | undefined {
  return hasType(value) ? (value as FromWorker) : undefined;
}

function hasType(value: unknown): value is { readonly type: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string'
  );
}
