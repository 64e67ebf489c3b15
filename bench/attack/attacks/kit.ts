/**
 * What every attacker of bench/attack shares: the Attack shape, its
 * outcome, and a Tracker that opens raw TCP connections to the proxy,
 * notices which ones the proxy closes (and which GOAWAY frames it sends),
 * and at the end counts those still open and destroys them all.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Which listener an attack is aimed at: gw's http or grpc listener (nginx: http or http2 server). */
export type Family = 'http' | 'grpc';

/** Where the attacker sends its bytes. */
export interface Target {
  readonly port: number;
  /** The backend port (for figures about the proxy's upstream connections). */
  readonly backendPort: number;
  /** A small file the HTTP backend serves (HTTP rows). */
  readonly path: string;
}

/** What the attacker saw, per attack run against one proxy. */
export interface AttackOutcome {
  /** Connections the attacker opened (reconnections included). */
  connections: number;
  /** Connections the proxy closed (FIN or RST) before the attack ended. */
  closedByProxy: number;
  /** GOAWAY frames received, by error code name (HTTP/2 rows). */
  goaway: Record<string, number>;
  /** Connections still open when the attack stopped. */
  openAtEnd: number;
  /** Attack-specific figures (streams sent, bytes read, ...), for the table's last column. */
  detail: Record<string, number>;
}

export interface Attack {
  readonly id: string;
  readonly family: Family;
  /** One line: what the attacker does. */
  readonly summary: string;
  /**
   * HTTP rows: `static` (nginx serving a small file, the default) or `echo`
   * (`gw backend http`, which reads a request's whole body before answering).
   */
  readonly backend?: 'static' | 'echo';
  /** Attacks `target` until `signal` aborts, then reports (and closes every connection it opened). */
  run(target: Target, signal: AbortSignal): Promise<AttackOutcome>;
}

const H2_ERROR_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

/** RFC 9113 §7 name of an error code. */
export function h2ErrorName(code: number): string {
  return H2_ERROR_NAMES[code] ?? `0x${code.toString(16)}`;
}

/** Connections opened at once; more wait, so the listen backlog (511) never overflows. */
const OPEN_BATCH = 200;
const CONNECT_TIMEOUT_MS = 3000;

/** Raw connections of one attack run, and what the proxy did to them. */
export class Tracker {
  readonly live = new Set<net.Socket>();
  connections = 0;
  closedByProxy = 0;
  failedToOpen = 0;
  readonly goaway: Record<string, number> = {};
  readonly detail: Record<string, number> = {};
  private stopping = false;
  private readonly abandoned = new WeakSet<net.Socket>();
  private readonly port: number;

  constructor(port: number) {
    this.port = port;
  }

  /** Adds `n` to the attack-specific figure `name`. */
  count(name: string, n = 1): void {
    this.detail[name] = (this.detail[name] ?? 0) + n;
  }

  /** A GOAWAY with `code` was received. */
  sawGoaway(code: number): void {
    const name = h2ErrorName(code);
    this.goaway[name] = (this.goaway[name] ?? 0) + 1;
  }

  /** One connection, resolved once connected (undefined when it failed or timed out). */
  connect(): Promise<net.Socket | undefined> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: this.port, noDelay: true });
      const timer = setTimeout(() => {
        this.failedToOpen++;
        socket.destroy();
        resolve(undefined);
      }, CONNECT_TIMEOUT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        this.connections++;
        this.live.add(socket);
        socket.once('close', () => {
          this.live.delete(socket);
          if (!this.stopping && !this.abandoned.has(socket)) this.closedByProxy++;
        });
        resolve(socket);
      });
      socket.on('error', () => {
        // A reset by the proxy ends in 'close', counted there; a failed connect in the timer.
        if (socket.connecting) {
          clearTimeout(timer);
          this.failedToOpen++;
          resolve(undefined);
        }
      });
    });
  }

  /**
   * Opens up to `n` connections, OPEN_BATCH at a time, calling `setup` on
   * each; stops early when `signal` aborts. Returns the sockets opened.
   */
  async openMany(
    n: number,
    signal: AbortSignal,
    setup: (socket: net.Socket) => void,
  ): Promise<net.Socket[]> {
    const opened: net.Socket[] = [];
    for (let done = 0; done < n && !signal.aborted; done += OPEN_BATCH) {
      const batch = Math.min(OPEN_BATCH, n - done);
      const sockets = await Promise.all(Array.from({ length: batch }, () => this.connect()));
      for (const socket of sockets) {
        if (socket === undefined) continue;
        setup(socket);
        opened.push(socket);
      }
    }
    if (this.failedToOpen > 0) this.detail.failedToOpen = this.failedToOpen;
    return opened;
  }

  /** The attacker leaves `socket` (after a GOAWAY): destroyed, and not counted as closed by the proxy. */
  abandon(socket: net.Socket): void {
    if (socket.destroyed) return;
    this.abandoned.add(socket);
    this.count('leftAfterGoaway');
    socket.destroy();
  }

  /** Counts the connections still open, destroys them all and reports. */
  finish(): AttackOutcome {
    this.stopping = true;
    const openAtEnd = this.live.size;
    for (const socket of this.live) socket.destroy();
    this.live.clear();
    return {
      connections: this.connections,
      closedByProxy: this.closedByProxy,
      goaway: this.goaway,
      openAtEnd,
      detail: this.detail,
    };
  }
}

/** How long an attacker waits for the proxy to close after its GOAWAY before leaving. */
const GOAWAY_GRACE_MS = 1000;

/**
 * `workers` attackers at once, each on its own connection, reconnecting
 * whenever `pass` returns (the proxy sent GOAWAY or closed) until `signal`
 * aborts. A connection the proxy answered but left open is abandoned after
 * a grace period.
 */
export async function reconnecting(
  tracker: Tracker,
  workers: number,
  signal: AbortSignal,
  pass: (socket: net.Socket) => Promise<void>,
): Promise<void> {
  const worker = async (): Promise<void> => {
    // Bounded by time: each pass ends when the proxy ends the connection or the attack ends.
    while (!signal.aborted) {
      const socket = await tracker.connect();
      if (socket === undefined) {
        await sleep(100);
        continue;
      }
      await pass(socket);
      if (over(signal) || socket.destroyed) continue;
      await Promise.race([
        new Promise((resolve) => socket.once('close', resolve)),
        sleep(GOAWAY_GRACE_MS),
      ]);
      tracker.abandon(socket);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}

/** True once `signal` aborted (a call, so a check after an await is not narrowed away). */
export function over(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** Yields to timers and I/O (the samplers, the reader) between two writes of a flood. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}

/**
 * Calls `tick` every `intervalMs` until `signal` aborts (bounded by the
 * attack's duration), then resolves.
 */
export async function every(
  intervalMs: number,
  signal: AbortSignal,
  tick: () => void,
): Promise<void> {
  while (!signal.aborted) {
    await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
    if (!over(signal)) tick();
  }
}

/** Resolves when `socket` may take more bytes ('drain'), closes, or `signal` aborts. */
export function drained(socket: net.Socket, signal: AbortSignal): Promise<void> {
  if (!socket.writableNeedDrain || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
