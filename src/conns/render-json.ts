/**
 * `gw conns --json`: an array of sockets, one per line, with the fields of
 * DESIGN.md (`proto, state, local {address, port}, remote {address, port},
 * recvQ, sendQ, uid, inode` and, where known, `pid, process`) plus `family`,
 * `timer`, `retransmits`, `probes`, `user` and `owners`.
 *
 * Written as bytes rather than through JSON.stringify or string
 * concatenation: fifty thousand sockets make twelve megabytes of JSON, and
 * building them as strings costs more in garbage collection than reading
 * /proc does. Constant fragments are encoded once, addresses and names once
 * per distinct value, numbers digit by digit. Pure.
 */
import type { ConnSocket, Owner } from './types.js';

const encoder = new TextEncoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);

/** Collects bytes in chunks and hands each full chunk to `flush` (which must not keep it for reuse). */
class ByteSink {
  private buf: Uint8Array;
  private n = 0;
  private readonly flushTo: (chunk: Uint8Array) => void;
  private readonly chunkBytes: number;

  constructor(flush: (chunk: Uint8Array) => void, chunkBytes: number) {
    this.flushTo = flush;
    this.chunkBytes = chunkBytes;
    this.buf = new Uint8Array(chunkBytes);
  }

  raw(b: Uint8Array): void {
    const length = b.length;
    if (this.n + length > this.buf.length) this.flush(length);
    const buf = this.buf;
    let n = this.n;
    if (length > 48) buf.set(b, n);
    else for (let i = 0; i < length; i++) buf[n + i] = b[i] ?? 0;
    n += length;
    this.n = n;
  }

  /**
   * A non-negative integer (counts, ports, ids, milliseconds), digit by
   * digit from the end. Anything else (never from the parser, which refuses
   * such fields) is written as JSON.stringify writes it, so the output stays
   * valid JSON.
   */
  int(value: number): void {
    if (!(value >= 0 && value <= Number.MAX_SAFE_INTEGER)) {
      this.raw(bytes(JSON.stringify(value)));
      return;
    }
    if (this.n + 20 > this.buf.length) this.flush(20);
    let v = Math.floor(value);
    let digits = 1;
    for (let p = 10; p <= v; p *= 10) digits++;
    const buf = this.buf;
    let i = this.n + digits;
    this.n = i;
    do {
      buf[--i] = 48 + (v % 10);
      v = Math.floor(v / 10);
    } while (v > 0);
  }

  flush(need = 0): void {
    if (this.n > 0) this.flushTo(this.buf.subarray(0, this.n));
    this.buf = new Uint8Array(Math.max(this.chunkBytes, need));
    this.n = 0;
  }
}

const K = {
  recvQ: bytes('},"recvQ":'),
  sendQ: bytes(',"sendQ":'),
  timerNull: bytes(',"timer":null,"retransmits":'),
  timerEnd: bytes('},"retransmits":'),
  probes: bytes(',"probes":'),
  uid: bytes(',"uid":'),
  inode: bytes(',"inode":'),
  pid: bytes(',"pid":'),
  process: bytes(',"process":'),
  owners: bytes(',"owners":['),
  ownerPid: bytes('{"pid":'),
  ownerFd: bytes(',"fd":'),
  close: bytes('}'),
  comma: bytes(','),
  end: bytes(']'),
  first: bytes('[\n'),
  next: bytes(',\n'),
  last: bytes('\n]\n'),
  empty: bytes('[]\n'),
  emptyInline: bytes('[]'),
  openInline: bytes('['),
};

/** A cache of encoded fragments keyed by up to two strings (no key string is built). */
class Fragments {
  private readonly map = new Map<string, Map<string, Uint8Array>>();

  get(a: string, b: string, make: () => string): Uint8Array {
    let inner = this.map.get(a);
    if (inner === undefined) {
      inner = new Map();
      this.map.set(a, inner);
    }
    let fragment = inner.get(b);
    if (fragment === undefined) {
      fragment = bytes(make());
      inner.set(b, fragment);
    }
    return fragment;
  }
}

/**
 * The encoded pieces of the sockets written so far: everything between two
 * numbers is one cached fragment (`..."state":"ESTABLISHED","local":{"address":"127.0.0.1","port":`),
 * so a socket takes about ten copies and seven numbers.
 */
class Encoded {
  /** One cache per protocol and family (tcp4, tcp6, udp4, udp6), keyed by state and address. */
  private readonly heads = [new Fragments(), new Fragments(), new Fragments(), new Fragments()];
  private readonly remotes = new Fragments();
  private readonly timers = new Fragments();
  private readonly users = new Fragments();
  private readonly quoted = new Fragments();

  head(s: ConnSocket): Uint8Array {
    const cache =
      this.heads[(s.proto === 'tcp' ? 0 : 2) + (s.family === 4 ? 0 : 1)] ?? new Fragments();
    return cache.get(
      s.state,
      s.local.address,
      () =>
        `{"proto":"${s.proto}","family":${s.family},"state":"${s.state}","local":{"address":${JSON.stringify(s.local.address)},"port":`,
    );
  }

  remote(address: string): Uint8Array {
    return this.remotes.get(
      address,
      '',
      () => `},"remote":{"address":${JSON.stringify(address)},"port":`,
    );
  }

  timer(kind: string): Uint8Array {
    return this.timers.get(kind, '', () => `,"timer":{"kind":"${kind}","remainingMs":`);
  }

  /** `,"user":"root","inode":`, or `,"inode":` without a user. */
  user(user: string | undefined): Uint8Array {
    if (user === undefined) return K.inode;
    return this.users.get(user, '', () => `,"user":${JSON.stringify(user)},"inode":`);
  }

  json(text: string): Uint8Array {
    return this.quoted.get(text, '', () => JSON.stringify(text));
  }
}

function writeOwners(sink: ByteSink, e: Encoded, owners: readonly Owner[]): void {
  sink.raw(K.owners);
  owners.forEach((o, i) => {
    if (i > 0) sink.raw(K.comma);
    sink.raw(K.ownerPid);
    sink.int(o.pid);
    sink.raw(K.process);
    sink.raw(e.json(o.process));
    sink.raw(K.ownerFd);
    sink.int(o.fd);
    sink.raw(K.close);
  });
  sink.raw(K.end);
}

function writeSocket(sink: ByteSink, e: Encoded, s: ConnSocket): void {
  sink.raw(e.head(s));
  sink.int(s.local.port);
  sink.raw(e.remote(s.remote.address));
  sink.int(s.remote.port);
  sink.raw(K.recvQ);
  sink.int(s.recvQ);
  sink.raw(K.sendQ);
  sink.int(s.sendQ);
  if (s.timer === null) sink.raw(K.timerNull);
  else {
    sink.raw(e.timer(s.timer.kind));
    sink.int(s.timer.remainingMs);
    sink.raw(K.timerEnd);
  }
  sink.int(s.retransmits);
  sink.raw(K.probes);
  sink.int(s.probes);
  sink.raw(K.uid);
  sink.int(s.uid);
  sink.raw(e.user(s.user));
  sink.int(s.inode);
  if (s.pid !== undefined) {
    sink.raw(K.pid);
    sink.int(s.pid);
  }
  if (s.process !== undefined) {
    sink.raw(K.process);
    sink.raw(e.json(s.process));
  }
  if (s.owners !== undefined) writeOwners(sink, e, s.owners);
  sink.raw(K.close);
}

/**
 * Writes a JSON array of sockets as they come, one per line, handing the
 * bytes to `write` in chunks of about `chunkBytes`, so that neither the
 * sockets nor the whole text need to be held at once.
 */
export class JsonArrayWriter {
  private readonly sink: ByteSink;
  private readonly encoded = new Encoded();
  private count = 0;

  constructor(write: (chunk: Uint8Array) => void, chunkBytes = 1 << 20) {
    this.sink = new ByteSink(write, chunkBytes);
  }

  add(s: ConnSocket): void {
    this.sink.raw(this.count === 0 ? K.first : K.next);
    this.count++;
    writeSocket(this.sink, this.encoded, s);
  }

  /** Closes the array (`[]` when nothing was added) and writes what is left. */
  end(): void {
    this.sink.raw(this.count === 0 ? K.empty : K.last);
    this.sink.flush();
  }
}

const decoder = new TextDecoder();

function collect(fill: (write: (chunk: Uint8Array) => void) => void): string {
  let out = '';
  fill((chunk) => (out += decoder.decode(chunk, { stream: true })));
  return out + decoder.decode();
}

/** The sockets as one JSON array, one socket per line, ending in a newline. */
export function socketsJson(sockets: readonly ConnSocket[]): string {
  return collect((write) => {
    const writer = new JsonArrayWriter(write);
    for (const s of sockets) writer.add(s);
    writer.end();
  });
}

/** JSON text of a list of sockets on one line (`[{...},{...}]`), for NDJSON watch events. */
export function socketsJsonInline(sockets: readonly ConnSocket[]): string {
  return collect((write) => {
    const sink = new ByteSink(write, 1 << 16);
    const encoded = new Encoded();
    if (sockets.length === 0) sink.raw(K.emptyInline);
    else {
      sockets.forEach((s, i) => {
        sink.raw(i === 0 ? K.openInline : K.comma);
        writeSocket(sink, encoded, s);
      });
      sink.raw(K.end);
    }
    sink.flush();
  });
}
