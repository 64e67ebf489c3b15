/**
 * The records `gw conns` works with. Parsing produces them from /proc/net
 * text, filters select them, renderers print them; nothing here does I/O.
 */
import type { TcpState } from './states.js';

/** Transport protocol of a socket table. */
export type Proto = 'tcp' | 'udp';

/** Address family: 4 from `/proc/net/tcp`, 6 from `/proc/net/tcp6` (v4-mapped included). */
export type Family = 4 | 6;

/** One side of a socket. `address` as ss prints it (`127.0.0.1`, `::1`, `::ffff:127.0.0.1`). */
export interface Endpoint {
  address: string;
  /** 0 for an unbound or wildcard port (shown as `*`). */
  port: number;
}

/**
 * The kernel's timer kinds, with netstat's names: `on` the retransmission
 * timer (also SYN and SYN+ACK retries), `keepalive` the keepalive timer (also
 * the orphaned FIN_WAIT2 timeout), `timewait` the TIME_WAIT timer (60 s on Linux),
 * `probe` the zero-window probe timer (ss calls it `persist`).
 */
export type TimerKind = 'on' | 'keepalive' | 'timewait' | 'probe';

/** A pending kernel timer of a socket. */
export interface SocketTimer {
  kind: TimerKind;
  /** Time left until it fires, in milliseconds (USER_HZ ticks of 10 ms). */
  remainingMs: number;
}

/** A process holding a socket open (found through `/proc/PID/fd`). */
export interface Owner {
  pid: number;
  /** The command name (`/proc/PID/comm`), e.g. `node`. */
  process: string;
  fd: number;
}

/**
 * One socket as the kernel lists it. For a LISTEN socket `recvQ` is the
 * accept queue (handshakes completed, not yet accept()ed); the listen
 * backlog, which ss shows as its Send-Q, is not in /proc. For UDP the queues
 * are bytes of buffer memory, as ss and netstat show them.
 */
export interface ConnSocket {
  proto: Proto;
  family: Family;
  state: TcpState;
  local: Endpoint;
  remote: Endpoint;
  /** Bytes received but not read by the application (LISTEN: connections waiting for accept). */
  recvQ: number;
  /** Bytes sent but not acknowledged by the peer (plus a FIN still to send). */
  sendQ: number;
  timer: SocketTimer | null;
  /** Retransmissions of the current segment (SYN_RECV: SYN+ACK retries). */
  retransmits: number;
  /** Unanswered keepalive or zero-window probes. */
  probes: number;
  uid: number;
  /** 0 when no file refers to the socket any more (TIME_WAIT, SYN_RECV, orphans). */
  inode: number;
  /** The user name of `uid`, where known. */
  user?: string;
  /** The first owning process, where known (`-p`). */
  pid?: number;
  process?: string;
  /** Every process holding it (a socket shared after fork has several), where known. */
  owners?: Owner[];
}
