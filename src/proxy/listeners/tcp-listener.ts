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
    connectFirstAvailable(upstream, session, undefined, undefined, (error, up, target) => {
      if (error !== undefined || up === undefined || target === undefined) {
        session.outcome = error?.code ?? 'GW_ERR_NO_TARGET';
        // Nothing to talk to: reset, as a closed port would.
        client.resetAndDestroy();
        log();
        return;
      }
      splice(client, up, target, session, config.timeouts.idleMs, log);
    });
  });
  return listenOn(server, config.name, config.listen);
}

type Connected = (error: GwError | undefined, up?: net.Socket, target?: TargetRuntime) => void;

/** Tries targets in balancer order until one accepts, each at most once. */
function connectFirstAvailable(
  upstream: UpstreamRuntime,
  session: TcpSession,
  exclude: Set<string> | undefined,
  lastError: GwError | undefined,
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
  const up = net.connect({
    host: target.address.host,
    port: target.address.port,
    allowHalfOpen: true,
    noDelay: true,
  });
  const timer = setTimeout(
    () => up.destroy(upstreamTimeout(target.id, 'connect', connectMs)),
    connectMs,
  );
  const onError = (err: Error): void => {
    clearTimeout(timer);
    const error = err instanceof GwError ? err : upstreamConnect(target.id, err);
    connectFirstAvailable(upstream, session, new Set([...(exclude ?? []), target.id]), error, done);
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
  client.on('data', (chunk: Buffer) => (session.bytesUp += chunk.length));
  up.on('data', (chunk: Buffer) => (session.bytesDown += chunk.length));
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
  client.pipe(up);
  up.pipe(client);
  client.resume();
}

function formatTcpLine(listener: string, upstream: string, s: TcpSession): string {
  const ms = (performance.now() - s.startMs).toFixed(2);
  let line = `${s.clientIp} ${listener} tcp ${upstream} ${s.target || '-'} up=${s.bytesUp} down=${s.bytesDown} ${ms}ms ${s.outcome}`;
  if (s.attempts > 1) line += ` attempts=${s.attempts}`;
  return line;
}
