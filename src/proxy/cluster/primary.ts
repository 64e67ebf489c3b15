/**
 * The primary of `gw proxy --workers N`: a node:cluster primary that never
 * handles traffic. It holds the control plane: the config source (watched,
 * and read again on SIGHUP), and one registry of upstreams that runs every
 * active health check and discovery watch once, for all workers. It forks N
 * workers (worker.ts), sends each the validated revision's text and every
 * upstream's targets and verdicts, restarts a worker that dies (with
 * backoff), hands each new revision to all of them, and on SIGTERM/SIGINT
 * asks every worker to drain and exits 0 once they all have.
 */
import cluster, { type Worker } from 'node:cluster';
import type { ConfigRevision } from '../config/config-source.js';
import type { ProxyConfig } from '../config/types.js';
import type { Applied } from '../gateway.js';
import type { ReloadTarget } from '../reload/reloader.js';
import { TargetRegistry } from '../upstream/target-registry.js';
import { toGwError, workerFailed, type GwError } from '../../shared/errors.js';
import { chooseScheduling, distributionName } from './listen-mode.js';
import {
  fromWorker,
  type BoundListener,
  type FromWorker,
  type ToWorker,
  type WorkerError,
} from './messages.js';

/** A dead worker's first restart comes after this long; each quick death doubles it. */
export const RESTART_FIRST_MS = 100;
/** The longest wait before a restart. */
export const RESTART_MAX_MS = 10_000;
/** A worker that ran this long before it died is restarted after RESTART_FIRST_MS again. */
export const RESTART_RESET_MS = 30_000;
/** How long the primary waits for a worker's answer to a new revision. */
const ANSWER_TIMEOUT_MS = 15_000;
/** Beyond shutdownTimeoutMs, what workers may take to exit before they are killed. */
const EXIT_MARGIN_MS = 3000;

/** How a worker answered a revision. */
type Answer =
  | { readonly kind: 'applied'; readonly changes: readonly string[] }
  | { readonly kind: 'rejected'; readonly error: WorkerError }
  | { readonly kind: 'gone' };

/** One of the N places a worker runs in (its number stays across restarts). */
interface Slot {
  readonly id: number;
  worker: Worker | undefined;
  pid: number;
  startedAtMs: number;
  /** The wait before its next restart. */
  delayMs: number;
  /** Serving (its first config started). */
  ready: boolean;
  /** Waiting for its answer to a revision. */
  answer: { readonly revision: string; readonly done: (answer: Answer) => void } | undefined;
  restart: NodeJS.Timeout | undefined;
}

/** What the primary is told while its workers start. */
interface Starting {
  readonly ready: (slot: Slot, listeners: readonly BoundListener[]) => void;
  readonly failed: (slot: Slot, error: WorkerError) => void;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** The worker pool and the control plane; the {@link ReloadTarget} of the primary's reloader. */
export class Primary implements ReloadTarget {
  private current: ConfigRevision;
  private readonly slots: Slot[];
  /** Health checks and discovery, once for every worker; no listeners. */
  private readonly registry: TargetRegistry;
  private broadcastQueued = false;
  private lastBroadcast = '';
  private starting: Starting | undefined;
  /** Set once stopping: the grace every worker gets (one that says hello now is stopped at once). */
  private stopping: { readonly graceMs: number } | undefined;
  private allExited: (() => void) | undefined;

  constructor(first: ConfigRevision, workers: number) {
    this.current = first;
    this.slots = Array.from({ length: workers }, (_, i) => ({
      id: i + 1,
      worker: undefined,
      pid: 0,
      startedAtMs: 0,
      delayMs: RESTART_FIRST_MS,
      ready: false,
      answer: undefined,
      restart: undefined,
    }));
    this.registry = new TargetRegistry(say, { changed: () => this.queueBroadcast() });
  }

  /** How many workers there are (alive or restarting). */
  get size(): number {
    return this.slots.length;
  }

  /** Workers alive now. */
  get live(): number {
    return this.slots.filter((s) => s.worker !== undefined).length;
  }

  /** `2 workers (pids 1234, 1235), shared socket (SCHED_NONE)`. */
  describe(): string {
    const pids = this.slots.map((s) => s.pid).join(', ');
    return `${this.slots.length} workers (pids ${pids}), ${distributionName()}`;
  }

  /**
   * Starts the control plane, then every worker; resolves with the first
   * worker's listeners once all serve, rejects when one cannot start.
   */
  async start(): Promise<readonly BoundListener[]> {
    this.registry.reconcile(this.current.config.upstreams);
    // Discovered targets before the first request (each wait is bounded), as a single process does.
    await this.registry.ready();
    chooseScheduling();
    let waiting = this.slots.length;
    let listeners: readonly BoundListener[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        this.starting = {
          ready: (slot, bound) => {
            if (slot.id === 1) listeners = bound;
            say(`worker ${slot.id} (pid ${slot.pid}) serving ${this.current.revision}`);
            if (--waiting === 0) resolve();
          },
          failed: (slot, error) => reject(workerFailed(slot.id, error)),
        };
        for (const slot of this.slots) this.fork(slot);
      });
    } catch (err) {
      await this.stop(0);
      throw err;
    } finally {
      this.starting = undefined;
    }
    return listeners;
  }

  /**
   * A new revision, validated: the control plane takes it first (so workers
   * get its targets and verdicts), then every serving worker; resolves once
   * all answered. If none could put it in force, the control plane goes back
   * and the revision is rejected with the first worker's error.
   */
  async apply(config: ProxyConfig, revision: ConfigRevision): Promise<Applied> {
    if (revision.text === undefined) throw toGwError(new Error('a revision without its text'));
    const previous = this.current;
    this.registry.reconcile(config.upstreams);
    await this.registry.ready();
    this.broadcastNow();
    this.current = revision;
    const asked = this.slots.filter((s) => s.ready && s.worker !== undefined);
    const answers = await Promise.all(asked.map((slot) => this.ask(slot, revision)));
    let changes: readonly string[] | undefined;
    let firstError: GwError | undefined;
    answers.forEach((answer, i) => {
      const slot = asked[i];
      if (slot === undefined) return;
      if (answer.kind === 'applied') changes ??= answer.changes;
      if (answer.kind !== 'rejected') return;
      firstError ??= workerFailed(slot.id, answer.error);
      say(
        `worker ${slot.id} (pid ${slot.pid}) rejected ${revision.revision}: ${answer.error.message}; it serves ${previous.revision}`,
      );
    });
    const applied = answers.filter((a) => a.kind === 'applied').length;
    if (changes === undefined && firstError !== undefined) {
      this.current = previous;
      this.registry.reconcile(previous.config.upstreams);
      throw firstError;
    }
    say(`config ${revision.revision} applied by ${applied} of ${this.slots.length} workers`);
    return { listeners: changes ?? [], drained: Promise.resolve() };
  }

  /** Asks every worker to drain within `graceMs`; resolves once all exited (killed after a margin). */
  async stop(graceMs: number): Promise<void> {
    this.stopping = { graceMs };
    for (const slot of this.slots) clearTimeout(slot.restart);
    await this.registry.close(0);
    if (this.live === 0) return;
    const exited = new Promise<void>((resolve) => (this.allExited = resolve));
    // A worker still loading misses this; it is stopped when it says hello.
    for (const slot of this.slots) this.send(slot, { type: 'stop', graceMs });
    const timer = setTimeout(() => this.killAll(), graceMs + EXIT_MARGIN_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Kills every worker at once (the primary is exiting). */
  killAll(): void {
    for (const slot of this.slots) slot.worker?.process.kill('SIGKILL');
  }

  private fork(slot: Slot): void {
    slot.restart = undefined;
    const worker = cluster.fork({ GW_WORKER_ID: String(slot.id) });
    slot.worker = worker;
    slot.pid = worker.process.pid ?? 0;
    slot.startedAtMs = performance.now();
    slot.ready = false;
    worker.on('message', (value: unknown) => {
      const message = fromWorker(value);
      if (message !== undefined) this.onMessage(slot, worker, message);
    });
    // A send to a worker that just died fails: its exit is handled below.
    worker.on('error', () => undefined);
    worker.on('exit', (code, signal) => this.onExit(slot, worker, code, signal));
  }

  private onMessage(slot: Slot, worker: Worker, message: FromWorker): void {
    if (slot.worker !== worker) return;
    switch (message.type) {
      case 'hello': {
        if (this.stopping !== undefined) {
          this.send(slot, { type: 'stop', graceMs: this.stopping.graceMs });
          return;
        }
        // Verdicts and discovered targets first: the worker's first config starts with them.
        this.send(slot, { type: 'upstreams', upstreams: this.registry.snapshot() });
        this.sendConfig(slot, this.current);
        return;
      }
      case 'ready': {
        slot.ready = true;
        if (this.starting !== undefined) this.starting.ready(slot, message.listeners);
        else say(`worker ${slot.id} (pid ${slot.pid}) serving ${message.revision}`);
        // A revision that came while it started: it takes that one too.
        if (message.revision !== this.current.revision) this.sendConfig(slot, this.current);
        return;
      }
      case 'failed': {
        if (this.starting !== undefined) this.starting.failed(slot, message);
        else say(`worker ${slot.id} (pid ${slot.pid}) could not start: ${message.message}`);
        return;
      }
      case 'applied':
      case 'rejected': {
        const waiting = slot.answer;
        if (waiting?.revision !== message.revision) return;
        slot.answer = undefined;
        waiting.done(
          message.type === 'applied'
            ? { kind: 'applied', changes: message.changes }
            : { kind: 'rejected', error: message },
        );
        return;
      }
    }
  }

  private onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.ready = false;
    const waiting = slot.answer;
    slot.answer = undefined;
    waiting?.done({ kind: 'gone' });
    if (this.stopping !== undefined) {
      if (this.live === 0) this.allExited?.();
      return;
    }
    // One that ran a good while was not crashing in a loop: its backoff starts over.
    if (performance.now() - slot.startedAtMs >= RESTART_RESET_MS) slot.delayMs = RESTART_FIRST_MS;
    const delayMs = slot.delayMs;
    slot.delayMs = Math.min(delayMs * 2, RESTART_MAX_MS);
    const how = signal === null || signal === '' ? `code ${String(code)}` : signal;
    say(`worker ${slot.id} (pid ${slot.pid}) exited with ${how}; restarting in ${delayMs} ms`);
    slot.restart = setTimeout(() => this.fork(slot), delayMs);
  }

  /** Sends `revision` to a worker and waits for its answer (or its exit, or a timeout). */
  private ask(slot: Slot, revision: ConfigRevision): Promise<Answer> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        slot.answer = undefined;
        resolve({
          kind: 'rejected',
          error: {
            code: 'GW_ERR_INTERNAL',
            message: `no answer within ${ANSWER_TIMEOUT_MS} ms`,
            exitCode: 1,
          },
        });
      }, ANSWER_TIMEOUT_MS);
      slot.answer = {
        revision: revision.revision,
        done: (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
      };
      this.sendConfig(slot, revision);
    });
  }

  private sendConfig(slot: Slot, revision: ConfigRevision): void {
    const text = revision.text;
    if (text === undefined) return;
    this.send(slot, {
      type: 'config',
      revision: revision.revision,
      body: text.body,
      source: text.source,
    });
  }

  private send(slot: Slot, message: ToWorker): void {
    const worker = slot.worker;
    if (worker?.isConnected() !== true) return;
    worker.send(message);
  }

  /** A verdict or target set changed: told to every worker once this turn's changes are in. */
  private queueBroadcast(): void {
    if (this.broadcastQueued) return;
    this.broadcastQueued = true;
    setImmediate(() => {
      this.broadcastQueued = false;
      this.broadcastNow();
    });
  }

  /** Sends the control plane's view to every worker, if it changed since the last time. */
  private broadcastNow(): void {
    const upstreams = this.registry.snapshot();
    const text = JSON.stringify(upstreams);
    if (text === this.lastBroadcast) return;
    this.lastBroadcast = text;
    for (const slot of this.slots) this.send(slot, { type: 'upstreams', upstreams });
  }
}
