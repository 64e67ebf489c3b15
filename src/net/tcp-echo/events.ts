import type { FramingMismatch } from '../framing/mismatch.js';

/**
 * What the echo server and client report, as plain records. The server and
 * client emit them; `report.ts` turns them into text lines or NDJSON.
 */

/** One read from a connection: the heart of the sticky/split lesson. */
export interface ReadEvent {
  type: 'read';
  conn: number;
  peer: string;
  /** 1-based number of this read on this connection. */
  read: number;
  /** Bytes this read returned. */
  bytes: number;
  /** Whole messages this read completed (with bytes held over from earlier reads). */
  messages: number;
  /** Bytes kept for the next read: the start of a message not yet complete. */
  carried: number;
  /** The completed messages (or the raw read), for display; already unpadded. */
  samples: Buffer[];
}

export type ServerEvent =
  | { type: 'listening'; host: string; port: number; framing: string }
  | { type: 'connect'; conn: number; peer: string; active: number }
  | ReadEvent
  | {
      type: 'frame-error';
      conn: number;
      peer: string;
      code: string;
      message: string;
      /** What probably caused it and how to fix it. */
      hint?: string;
    }
  | { type: 'incomplete'; conn: number; peer: string; bytes: number }
  | {
      type: 'framing-mismatch';
      conn: number;
      peer: string;
      kind: FramingMismatch;
      /** The likely cause and the fix, in the server's language. */
      message: string;
    }
  | {
      type: 'close';
      conn: number;
      peer: string;
      reads: number;
      messages: number;
      bytesIn: number;
      reason: CloseReason;
      active: number;
    }
  | ({ type: 'summary' } & ServerTotals);

/** Why a connection ended. */
export type CloseReason = 'peer-closed' | 'reset' | 'frame-too-large' | 'error' | 'shutdown';

/** Running totals over all connections of one server. */
export interface ServerTotals {
  connections: number;
  active: number;
  reads: number;
  messages: number;
  bytesIn: number;
  bytesOut: number;
  frameErrors: number;
  incomplete: number;
}

/** What a `--burst` run measured. */
export interface BurstResult {
  framing: string;
  messagesSent: number;
  writes: number;
  bytesSent: number;
  reads: number;
  bytesReceived: number;
  messagesReceived: number;
  mismatches: number;
  /** Reads that held bytes of more than one message (粘包). */
  stickyReads: number;
  /** Reads that began or ended inside a message (拆包). */
  splitReads: number;
  /** What a reader taking each read as one message would have got wrong (raw mode only). */
  naiveWrong: number;
  elapsedMs: number;
  messagesPerSecond: number;
  firstMismatch?: { index: number; expected: string; received: string };
}
