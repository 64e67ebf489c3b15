import net from 'node:net';
import {
  errnoOf,
  GwError,
  noTarget,
  upstreamConnect,
  upstreamTimeout,
} from '../../shared/errors.js';
import type { TcpListenerConfig } from '../config/types.js';
import type { LineSink } from '../middleware/access-log/access-log.js';
import type { RuntimeRef } from '../runtime.js';
import type { TargetRuntime, UpstreamRuntime } from '../upstream/upstream-runtime.js';
import { listenOn, type RunningListener } from './listen.js';

/** What one proxied TCP connection did, for the log line. */
interface TcpSession {
  readonly clientIp: string;
  readonly startMs: number;
  target: string;
  attempts: number;
  bytesUp: number;
  bytesDown: number;
  outcome: string;
}

/**
 * Starts a `tcp` listener: each client connection gets one target from the
 * balancer (hash balancing keys on the client IP); a target that refuses or
 * times out is skipped for the next one. Bytes are piped both ways with
 * backpressure; a FIN from either side is forwarded as a FIN while the other
 * direction keeps flowing (half-close, RFC 9293 §3.6), and an RST from
 * either side is passed on as an RST.
 */
export async function startTcpListener(
  config: TcpListenerConfig,
  ref: RuntimeRef,
  sink: LineSink,
): Promise<RunningListener> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    const upstream = ref.current.upstream(config.upstream);
    const session: TcpSession = {
      clientIp: client.remoteAddress ?? '',
      startMs: performance.now(),
      target: '',
      attempts: 0,
      bytesUp: 0,
      bytesDown: 0,
      outcome: '',
    };
    client.on('error', () => undefined);
    const log = (): void => sink(formatTcpLine(config.name, upstream.config.name, session));
    const downstream: DownstreamSink = { deliver: () => true };
    connectFirstAvailable(
      upstream,
      session,
      undefined,
      undefined,
      downstream,
      (error, up, target) => {
        if (error !== undefined || up === undefined || target === undefined) {
          session.outcome = error?.code ?? 'GW_ERR_NO_TARGET';
          // Nothing to talk to: reset, as a closed port would.
          client.resetAndDestroy();
          log();
          return;
        }
        splice(client, up, downstream, target, session, config.timeouts.idleMs, log);
      },
    );
  });
  return listenOn(server, config.name, config.listen, undefined, {
    maxConnections: config.maxConnections,
    log: sink,
  });
}

type Connected = (error: GwError | undefined, up?: net.Socket, target?: TargetRuntime) => void;

/** Where the target's bytes go; set once the connection is spliced. */
interface DownstreamSink {
  deliver: (chunk: Buffer) => boolean;
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

/** Tries targets in balancer order until one accepts, each at most once. */
function connectFirstAvailable(
  upstream: UpstreamRuntime,
  session: TcpSession,
  exclude: Set<string> | undefined,
  lastError: GwError | undefined,
  sink: DownstreamSink,
  done: Connected,
): void {
  const key = upstream.config.balance === 'hash' ? session.clientIp : undefined;
  const target = upstream.pick(key, exclude);
  if (target === undefined) {
    done(lastError ?? noTarget(upstream.config.name));
    return;
  }
  session.target = target.id;
  session.attempts++;
  const { connectMs } = upstream.config.timeouts;
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
    const tried = new Set([...(exclude ?? []), target.id]);
    connectFirstAvailable(upstream, session, tried, error, sink, done);
  };
  up.once('error', onError);
  up.once('connect', () => {
    clearTimeout(timer);
    up.off('error', onError);
    done(undefined, up, target);
  });
}

function splice(
  client: net.Socket,
  up: net.Socket,
  sink: DownstreamSink,
  target: TargetRuntime,
  session: TcpSession,
  idleMs: number,
  log: () => void,
): void {
  target.active++;
  target.served++;
  let finished = false;
  const finish = (outcome: string): void => {
    if (finished) return;
    finished = true;
    target.active--;
    session.bytesUp = client.bytesRead;
    session.bytesDown = up.bytesRead;
    session.outcome = outcome;
    log();
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
  client.setTimeout(idleMs, idle);
  up.setTimeout(idleMs, idle);
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

function formatTcpLine(listener: string, upstream: string, s: TcpSession): string {
  const ms = (performance.now() - s.startMs).toFixed(2);
  let line = `${s.clientIp} ${listener} tcp ${upstream} ${s.target || '-'} up=${s.bytesUp} down=${s.bytesDown} ${ms}ms ${s.outcome}`;
  if (s.attempts > 1) line += ` attempts=${s.attempts}`;
  return line;
}
