import net from 'node:net';
import { errnoOf, isGwError, listenFailed, portInUse } from '../../shared/errors.js';
import { describeFraming } from '../framing/spec.js';
import { framingMismatch, mismatchText } from '../framing/mismatch.js';
import type { Codec } from '../framing/types.js';
import type { CloseReason, ServerEvent, ServerTotals } from './events.js';
import { peerOf } from '../../shared/format.js';

/** How many decoded messages of one read are kept for display. */
const SAMPLES_PER_READ = 3;

/** A framing mismatch shows in a connection's first reads; later ones are not checked (speed). */
const MISMATCH_CHECK_READS = 16;

export interface EchoServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  codec: Codec;
  /** Receives every event; must not throw. */
  onEvent: (event: ServerEvent) => void;
  /** Emit a `read` event per read (the lesson); off for --quiet and benchmarks. Default true. */
  reportReads?: boolean;
  /** Listen backlog (the accept queue); Node's default is 511. */
  backlog?: number;
  /** Language of the framing-mismatch warning. Default English. */
  lang?: 'en' | 'zh';
}

export interface EchoServer {
  readonly host: string;
  readonly port: number;
  readonly totals: Readonly<ServerTotals>;
  /**
   * Stops accepting, half-closes every connection (FIN) so peers can read
   * the echoes already sent, and resolves once all sockets are gone; those
   * still open after `graceMs` are destroyed.
   */
  close(graceMs?: number): Promise<void>;
}

/**
 * Starts the framed echo server: every message decoded from a connection is
 * echoed back in the same framing, and every read is reported with how many
 * messages it completed and how many bytes it carried over. A connection that
 * sends an oversized frame is closed; the others are not affected.
 */
export async function startEchoServer(options: EchoServerOptions): Promise<EchoServer> {
  const { codec, onEvent } = options;
  const totals: ServerTotals = {
    connections: 0,
    active: 0,
    reads: 0,
    messages: 0,
    bytesIn: 0,
    bytesOut: 0,
    frameErrors: 0,
    incomplete: 0,
  };
  const sockets = new Set<net.Socket>();
  let shuttingDown = false;

  const server = net.createServer((socket) => {
    if (shuttingDown) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    totals.connections++;
    totals.active++;
    serveConnection(socket, totals.connections, {
      codec,
      onEvent,
      totals,
      isShuttingDown,
      reportReads: options.reportReads ?? true,
      lang: options.lang ?? 'en',
    });
    socket.once('close', () => {
      sockets.delete(socket);
      totals.active--;
    });
  });
  const isShuttingDown = (): boolean => shuttingDown;

  await listen(server, options.host, options.port, options.backlog);
  const address = server.address() as net.AddressInfo;
  onEvent({
    type: 'listening',
    host: address.address,
    port: address.port,
    framing: describeFraming(codec.spec),
  });
  // After a successful listen, a server error (EMFILE on accept) must not crash the process.
  server.on('error', () => undefined);

  return {
    host: address.address,
    port: address.port,
    totals,
    async close(graceMs = 2000) {
      shuttingDown = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.end();
      const timer = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      await closed;
      clearTimeout(timer);
      onEvent({ type: 'summary', ...totals });
    },
  };
}

interface ConnectionContext {
  codec: Codec;
  onEvent: (event: ServerEvent) => void;
  totals: ServerTotals;
  isShuttingDown: () => boolean;
  reportReads: boolean;
  lang: 'en' | 'zh';
}

/** Reads, decodes, echoes and reports one connection until it closes. */
function serveConnection(socket: net.Socket, conn: number, ctx: ConnectionContext): void {
  const { codec, onEvent, totals } = ctx;
  const decoder = codec.decoder();
  const peer = peerOf(socket);
  const raw = codec.spec.framing === 'raw';
  let reads = 0;
  let messages = 0;
  let bytesIn = 0;
  let reason: CloseReason = 'peer-closed';
  onEvent({ type: 'connect', conn, peer, active: totals.active });

  let refusing = false;
  let warned = false;
  const echo = (decoded: readonly Buffer[], chunk: Buffer): void => {
    if (decoded.length === 0) return;
    // One write per read, as raw mode does: the framing costs only the codec.
    const out = raw ? chunk : Buffer.concat(decoded.map((m) => codec.encode(m)));
    totals.bytesOut += out.length;
    if (!socket.write(out) && !refusing) {
      // Backpressure: stop reading until the peer has taken our echoes.
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  };

  socket.on('data', (chunk: Buffer) => {
    if (refusing) return; // lingering after a refused frame: discard, never buffer
    reads++;
    bytesIn += chunk.length;
    totals.reads++;
    totals.bytesIn += chunk.length;
    let decoded: Buffer[];
    try {
      decoded = decoder.push(chunk);
    } catch (err) {
      refusing = true;
      reason = 'frame-too-large';
      totals.frameErrors++;
      const code = isGwError(err) ? err.code : 'GW_ERR_INTERNAL';
      const message = err instanceof Error ? err.message : String(err);
      const hint = isGwError(err) ? err.hint : undefined;
      onEvent({
        type: 'frame-error',
        conn,
        peer,
        code,
        message,
        ...(hint === undefined ? {} : { hint }),
      });
      messages += decoder.completedBeforeError.length;
      totals.messages += decoder.completedBeforeError.length;
      refuse(socket, () => echo(decoder.completedBeforeError, chunk));
      return;
    }
    messages += decoded.length;
    totals.messages += decoded.length;
    echo(decoded, chunk);
    if (!warned && reads <= MISMATCH_CHECK_READS) {
      // Once per connection: the echo cannot show a mismatch to the client, so the server says it.
      const kind = framingMismatch(codec.spec, decoded);
      if (kind !== undefined) {
        warned = true;
        const message = mismatchText(kind, codec.spec, ctx.lang);
        onEvent({ type: 'framing-mismatch', conn, peer, kind, message });
      }
    }
    if (!ctx.reportReads) return;
    onEvent({
      type: 'read',
      conn,
      peer,
      read: reads,
      bytes: chunk.length,
      messages: decoded.length,
      carried: decoder.buffered,
      samples: decoded.slice(0, SAMPLES_PER_READ).map((m) => codec.display(m)),
    });
  });
  socket.on('end', () => {
    if (decoder.buffered > 0) {
      totals.incomplete++;
      onEvent({ type: 'incomplete', conn, peer, bytes: decoder.buffered });
    }
  });
  socket.on('error', (err) => {
    const errno = errnoOf(err);
    reason = errno === 'ECONNRESET' || errno === 'EPIPE' ? 'reset' : 'error';
    if (decoder.buffered > 0 && reason === 'reset') {
      totals.incomplete++;
      onEvent({ type: 'incomplete', conn, peer, bytes: decoder.buffered });
    }
  });
  socket.on('close', () => {
    if (ctx.isShuttingDown() && reason === 'peer-closed') reason = 'shutdown';
    onEvent({
      type: 'close',
      conn,
      peer,
      reads,
      messages,
      bytesIn,
      reason,
      active: totals.active - 1,
    });
  });
}

/** How long a refused connection may linger, draining its peer, before it is destroyed. */
const LINGER_MS = 2000;

/**
 * Closes a connection whose peer sent a frame we refuse, without losing the
 * echoes of what it sent before: answer those, half-close (FIN), then keep
 * reading and discarding until the peer closes or LINGER_MS passes. Closing
 * at once with unread bytes would send an RST that can destroy the echoes
 * still in flight.
 */
function refuse(socket: net.Socket, answerAccepted: () => void): void {
  answerAccepted();
  socket.end();
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

function listen(server: net.Server, host: string, port: number, backlog?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(
        errnoOf(err) === 'EADDRINUSE' ? portInUse(host, port, err) : listenFailed(host, port, err),
      );
    };
    server.once('error', onError);
    server.listen({ host, port, backlog: backlog ?? 511 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
