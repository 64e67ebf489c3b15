import net from 'node:net';
import {
  errnoOf,
  GwError,
  toGwError,
  upstreamConnect,
  upstreamTimeout,
} from '../../shared/errors.js';
import type { L4Exchange } from '../pipeline/types.js';
import { nextExchangeId } from '../pipeline/types.js';
import { ConnectFailure } from './connect-failure.js';
import { tryTargets, type Forwarder } from './try-targets.js';
import type { TargetRuntime, UpstreamRuntime } from './upstream-runtime.js';

/** What the tcp listener knows of a new connection. */
export interface TcpStart {
  readonly listener: string;
  readonly client: net.Socket;
  readonly upstreamRuntime: UpstreamRuntime;
  readonly idleMs: number;
}

/**
 * A TCP session on its way through the L4 chain. It offers what a hash key
 * may be taken from like any exchange: the client's address (a TCP
 * connection has no path or headers; the config allows only `client-ip`).
 */
export class TcpExchange implements L4Exchange {
  readonly id = nextExchangeId();
  readonly kind = 'tcp';
  readonly listener: string;
  readonly clientIp: string;
  readonly startMs = performance.now();
  readonly upstream: string;
  readonly path = '';
  target = '';
  attempts = 0;
  errorCode = '';
  consumer = '';
  trace: string[] | undefined = undefined;
  bytesUp = 0;
  bytesDown = 0;
  outcome = '';
  readonly client: net.Socket;
  readonly upstreamRuntime: UpstreamRuntime;
  /** The session closes after this long with no bytes either way. */
  readonly idleMs: number;

  constructor(start: TcpStart) {
    this.listener = start.listener;
    this.client = start.client;
    this.clientIp = start.client.remoteAddress ?? '';
    this.upstreamRuntime = start.upstreamRuntime;
    this.upstream = start.upstreamRuntime.config.name;
    this.idleMs = start.idleMs;
  }

  header(): string | undefined {
    return undefined;
  }
}

/**
 * The terminal handler of a tcp listener: one target per connection from
 * the balancer (hash balancing keys on the client IP); a target that refuses
 * or times out is skipped for the next one, each tried once. Bytes are piped
 * both ways with backpressure; a FIN from either side is forwarded as a FIN
 * while the other direction keeps flowing (half-close, RFC 9293 §3.6), and
 * an RST from either side is passed on as an RST. Resolves when the session
 * is over; rejects when no target accepted.
 */
export function pipeTcp(ex: TcpExchange): Promise<void> {
  return tryTargets(ex.upstreamRuntime, ex, TCP_FORWARDER);
}

/** How TCP connections go to a target: one object for every connection (see Forwarder). */
const TCP_FORWARDER: Forwarder<TcpExchange> = {
  maxAttempts: Number.POSITIVE_INFINITY,
  send: (ex, target, upstream) => connectAndSplice(ex, target, upstream),
  mapError: (_ex, err) => toGwError(err),
  // Nothing was sent before the target accepted: any connect failure may go to the next one.
  mayRetry: (_ex, _error, err) => err instanceof ConnectFailure,
  clientGone: (ex) => ex.client.destroyed,
  answeredFailure: (ex) => ex.outcome === 'reset',
};

/**
 * The tcp listener's local reply: nothing to talk to (no target accepted,
 * or a middleware refused the connection), so the client is reset, as a
 * closed port would. The outcome is the error's code, for the log line.
 */
export function answerTcp(ex: TcpExchange, err: unknown): void {
  const error = toGwError(err);
  ex.errorCode = error.code;
  if (ex.outcome === '') ex.outcome = error.code;
  ex.client.resetAndDestroy();
}

/** The first slab of a connection, and the largest a busy one grows to. */
const FIRST_SLAB_BYTES = 16 * 1024;
const MAX_SLAB_BYTES = 4 * 1024 * 1024;
/** The most room a read is offered before a new slab is cut (a quarter of a 1 MiB slab). */
const MAX_MIN_READ_BYTES = 256 * 1024;
/** A new slab holds this many reads as large as the largest in the last one. */
const READS_PER_SLAB = 16;

/**
 * One connection's read buffers, handed out as consecutive slices of a
 * larger allocation, so a read can take up to hundreds of KiB and the bytes
 * are forwarded without a copy. A slice stays alive only as long as the
 * write that carries it. Node asks for the next read buffer as soon as a
 * read is delivered and keeps it until the next read, so a slab belongs to
 * one socket: shared, a slice handed to one socket would overlap bytes
 * another socket still has queued for writing. Each new slab is sized by
 * the largest read of the last one: a bulk transfer, whose reads fill what
 * they are offered, grows to MAX_SLAB_BYTES; a quiet or interactive
 * connection keeps a small slab however many bytes it moves in all.
 */
export class Slab {
  private buffer = Buffer.allocUnsafe(FIRST_SLAB_BYTES);
  private offset = 0;
  private largestRead = 0;

  next(): Buffer {
    const size = this.buffer.length;
    if (size - this.offset < Math.min(size / 4, MAX_MIN_READ_BYTES)) {
      const wanted = this.largestRead * READS_PER_SLAB;
      this.buffer = Buffer.allocUnsafe(
        Math.min(Math.max(wanted, FIRST_SLAB_BYTES), MAX_SLAB_BYTES),
      );
      this.offset = 0;
      this.largestRead = 0;
    }
    return this.buffer.subarray(this.offset);
  }

  /** Marks `n` bytes of the slice `buf` (from `next`) as used and returns them. */
  take(n: number, buf: Uint8Array): Buffer {
    this.offset += n;
    if (n > this.largestRead) this.largestRead = n;
    return Buffer.from(buf.buffer, buf.byteOffset, n);
  }
}

/** Where the target's bytes go; set once the connection is spliced. */
interface DownstreamSink {
  deliver: (chunk: Buffer) => boolean;
}

/**
 * Connects to `target` and, once connected, splices it with the client.
 * Rejects with a ConnectFailure when the target cannot be reached; resolves
 * when the session is over. A half-open circuit's probe succeeds once the
 * target accepts: the session may last far longer than any probe timeout.
 */
function connectAndSplice(
  ex: TcpExchange,
  target: TargetRuntime,
  upstream: UpstreamRuntime,
): Promise<void> {
  const connectMs = upstream.config.timeouts.connectMs;
  return new Promise((resolve, reject) => {
    const sink: DownstreamSink = { deliver: () => true };
    const slab = new Slab();
    const up = net.connect({
      host: target.address.host,
      port: target.address.port,
      allowHalfOpen: true,
      noDelay: true,
      // Read the target's bytes straight into slices of this connection's slab:
      // fewer, bigger reads than Node's 64 KiB default, and no copy.
      onread: { buffer: () => slab.next(), callback: (n, buf) => sink.deliver(slab.take(n, buf)) },
    });
    const timer = setTimeout(
      () => up.destroy(upstreamTimeout(target.id, 'connect', connectMs)),
      connectMs,
    );
    const onError = (err: Error): void => {
      clearTimeout(timer);
      const error = err instanceof GwError ? err : upstreamConnect(target.id, err);
      reject(new ConnectFailure(error, err));
    };
    up.once('error', onError);
    up.once('connect', () => {
      clearTimeout(timer);
      up.off('error', onError);
      upstream.state.breaker?.established(ex);
      splice(ex, up, sink, resolve);
    });
  });
}

function splice(ex: TcpExchange, up: net.Socket, sink: DownstreamSink, ended: () => void): void {
  const client = ex.client;
  let finished = false;
  const finish = (outcome: string): void => {
    if (finished) return;
    finished = true;
    ex.bytesUp = client.bytesRead;
    ex.bytesDown = up.bytesRead;
    ex.outcome = outcome;
    ended();
  };
  const onReset = (from: net.Socket, to: net.Socket) => (err: Error) => {
    // Pass an abort on as an abort; any other error ends both sides too.
    if (errnoOf(err) === 'ECONNRESET') to.resetAndDestroy();
    else to.destroy();
    from.destroy();
  };
  client.on('error', onReset(client, up));
  up.on('error', onReset(up, client));
  const idle = (): void => {
    client.destroy();
    up.destroy();
    finish('idle-timeout');
  };
  client.setTimeout(ex.idleMs, idle);
  up.setTimeout(ex.idleMs, idle);
  let open = 2;
  const closed = (): void => {
    open--;
    if (open === 1) {
      // One side is gone entirely; once the other has flushed, end it too.
      setTimeout(() => {
        client.destroy();
        up.destroy();
      }, 1000).unref();
    }
    if (open === 0) finish(client.errored || up.errored ? 'reset' : 'closed');
  };
  client.once('close', closed);
  up.once('close', closed);
  // Client → target: a plain pipe (a FIN becomes end() on the target: half-close).
  client.pipe(up);
  // Target → client: reads land in the slab (see connect); backpressure by hand.
  const resume = (): void => {
    up.resume();
  };
  sink.deliver = (chunk) => {
    if (client.write(chunk)) return true;
    client.once('drain', resume);
    return false;
  };
  up.on('end', () => client.end());
  client.resume();
}
