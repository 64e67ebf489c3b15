/**
 * A black-box, wire-level specification of the `http` listener of `gw proxy`
 * as an HTTP/1.1 reverse proxy (RFC 9112 message syntax, RFC 9110 semantics).
 *
 * Everything goes through real TCP sockets on 127.0.0.1: the client is a raw
 * `net` socket writing exact bytes, and each target is a raw `net` server that
 * reads the request bytes and writes exact response bytes, so the framing on
 * both sides is under the test's control. Nothing here knows how the data
 * plane is built; it is the regression suite for rewriting it.
 *
 * Each test starts its own target and gateway (cheap, in-process), so counts
 * of upstream connections and bytes belong to that test alone.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { startTestGateway, type TestGateway } from '../../helpers/proxy.js';
import { isGwError } from '../../../src/shared/errors.js';
import { connect, freePort, startPeer } from '../../helpers/sockets.js';

/** The longest any single wait in this file may take. */
const WAIT_MS = 3000;
/** The bound of every test. */
const BOUND = { timeout: 8000 };

// ---------------------------------------------------------------------------
// Message syntax, parsed strictly (a gateway that sends sloppy bytes fails).
// ---------------------------------------------------------------------------

/** A header field, name lower-cased, value trimmed; repeated fields stay separate. */
type Field = readonly [name: string, value: string];

/** Every value of the fields called `name` (lower case), one per field line. */
function values(fields: readonly Field[], name: string): string[] {
  return fields.filter(([n]) => n === name).map(([, v]) => v);
}

/** The value of a field that must occur at most once. */
function one(fields: readonly Field[], name: string): string | undefined {
  const all = values(fields, name);
  assert.ok(all.length <= 1, `${name} sent ${all.length} times: ${all.join(' | ')}`);
  return all[0];
}

interface Head {
  readonly start: string;
  readonly fields: Field[];
  /** Bytes of the head, the blank line included. */
  readonly size: number;
}

/** Parses a head at the start of `buf`, or undefined while it is incomplete. */
function parseHead(buf: Buffer): Head | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [start = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  return { start, fields: lines.map(parseField), size: end + 4 };
}

function parseField(line: string): Field {
  const colon = line.indexOf(':');
  const name = line.slice(0, colon);
  if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\0\r\n]/.test(line)) {
    throw new Error(`malformed field line ${JSON.stringify(line)}`);
  }
  return [name.toLowerCase(), line.slice(colon + 1).trim()];
}

/** How a body is delimited: none, chunked, by the close of the connection, or a length. */
type Framing = 'none' | 'chunked' | 'close' | number;

/** The framing of a message (RFC 9112 §6.3); throws on framing a proxy must never send. */
function framingOf(fields: readonly Field[], bodyless: boolean, isRequest: boolean): Framing {
  if (bodyless) return 'none';
  const te = values(fields, 'transfer-encoding');
  const cl = values(fields, 'content-length');
  if (te.length > 0) {
    if (cl.length > 0) throw new Error('both Transfer-Encoding and Content-Length were sent');
    const codings = te
      .join(',')
      .split(',')
      .map((c) => c.trim().toLowerCase());
    if (codings.at(-1) === 'chunked') return 'chunked';
    if (isRequest) throw new Error(`a request with Transfer-Encoding ${te.join(', ')}`);
    return 'close';
  }
  const [length, ...more] = cl;
  if (length === undefined) return isRequest ? 0 : 'close';
  if (more.length > 0 || !/^\d+$/.test(length)) {
    throw new Error(`bad Content-Length ${cl.join(' | ')}`);
  }
  return Number(length);
}

interface Body {
  readonly body: Buffer;
  readonly trailers: Field[];
  /** Offset in the buffer just after the body. */
  readonly end: number;
}

/** Reads a body at `at`, or undefined while incomplete; `ended`: no more bytes will come. */
function readBody(buf: Buffer, at: number, how: Framing, ended: boolean): Body | undefined {
  if (how === 'none') return { body: Buffer.alloc(0), trailers: [], end: at };
  if (how === 'close') {
    return ended ? { body: buf.subarray(at), trailers: [], end: buf.length } : undefined;
  }
  if (how === 'chunked') return readChunked(buf, at);
  return buf.length - at >= how
    ? { body: buf.subarray(at, at + how), trailers: [], end: at + how }
    : undefined;
}

/** Decodes a chunked body (RFC 9112 §7.1), extensions ignored, trailers kept. */
function readChunked(buf: Buffer, from: number): Body | undefined {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const line = buf.subarray(at, eol).toString('latin1');
    const sizeText = (line.split(';')[0] ?? '').trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) {
      throw new Error(`bad chunk size line ${JSON.stringify(line)}`);
    }
    const size = parseInt(sizeText, 16);
    at = eol + 2;
    if (size === 0) break;
    if (buf.length < at + size + 2) return undefined;
    parts.push(buf.subarray(at, at + size));
    if (buf.readUInt16BE(at + size) !== 0x0d0a) throw new Error('chunk data not followed by CRLF');
    at += size + 2;
  }
  const trailers: Field[] = [];
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const line = buf.subarray(at, eol).toString('latin1');
    at = eol + 2;
    if (line === '') return { body: Buffer.concat(parts), trailers, end: at };
    trailers.push(parseField(line));
  }
}

// ---------------------------------------------------------------------------
// Waiting, always bounded.
// ---------------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Something that changes as bytes arrive; `until` re-checks a condition on every change. */
class Waitable {
  private readonly waiters = new Set<() => void>();

  protected poke(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves with the first defined result of `check`; rejects after `ms` or if it throws. */
  until<T>(check: () => T | undefined, what: string, ms = WAIT_MS): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const attempt = (): void => {
        let result: T | undefined;
        try {
          result = check();
        } catch (err) {
          stop();
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        if (result !== undefined) {
          stop();
          resolve(result);
        }
      };
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no ${what} within ${ms} ms (${this.state()})`));
      }, ms);
      const stop = (): void => {
        clearTimeout(timer);
        this.waiters.delete(attempt);
      };
      this.waiters.add(attempt);
      attempt();
    });
  }

  protected state(): string {
    return '';
  }
}

// ---------------------------------------------------------------------------
// The raw client.
// ---------------------------------------------------------------------------

interface Response {
  readonly status: number;
  readonly start: string;
  readonly fields: Field[];
  readonly body: Buffer;
  readonly trailers: Field[];
}

/** The connection ended before a complete response: what had arrived of it. */
interface Cut {
  readonly cut: true;
  readonly partial: Buffer;
}

/** A raw client connection that reads responses with the framing the gateway chose. */
class Client extends Waitable {
  readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  /** The gateway closed (FIN or reset). */
  ended = false;

  constructor(socket: net.Socket) {
    super();
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.poke();
    });
    socket.on('error', () => undefined);
    const end = (): void => {
      this.ended = true;
      this.poke();
    };
    socket.on('end', end).on('close', end);
  }

  /** Bytes received and not yet parsed as a response. */
  get pending(): Buffer {
    return this.buf;
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** The next response (1xx included), or a Cut; `head`: it answers a HEAD. */
  next(options: { head?: boolean; ms?: number } = {}): Promise<Response | Cut> {
    return this.until(() => this.parse(options.head ?? false), 'response', options.ms);
  }

  /** The next complete response (1xx included). */
  async response(options: { head?: boolean; ms?: number } = {}): Promise<Response> {
    const outcome = await this.next(options);
    if ('cut' in outcome) {
      const seen = outcome.partial.toString('latin1').slice(0, 300);
      throw new Error(`the connection closed mid-response, after ${JSON.stringify(seen)}`);
    }
    return outcome;
  }

  /** The final response and the interim (1xx) ones before it. */
  async final(options: { head?: boolean } = {}): Promise<{ interim: Response[]; final: Response }> {
    const interim: Response[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await this.response(options);
      if (res.status >= 200) return { interim, final: res };
      interim.push(res);
    }
    throw new Error('more than four interim responses');
  }

  /** Resolves once the gateway has closed the connection. */
  closed(ms = WAIT_MS): Promise<true> {
    return this.until(() => (this.ended ? true : undefined), 'close of the connection', ms);
  }

  protected override state(): string {
    return `ended=${this.ended}, unparsed ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))}`;
  }

  private parse(head: boolean): Response | Cut | undefined {
    const parsed = parseHead(this.buf);
    if (parsed === undefined) return this.ended ? { cut: true, partial: this.buf } : undefined;
    const match = /^HTTP\/1\.[01] (\d{3})(?: [^\r\n]*)?$/.exec(parsed.start);
    if (match === null) throw new Error(`bad status line ${JSON.stringify(parsed.start)}`);
    const status = Number(match[1]);
    const bodyless = head || status < 200 || status === 204 || status === 304;
    const body = readBody(
      this.buf,
      parsed.size,
      framingOf(parsed.fields, bodyless, false),
      this.ended,
    );
    if (body === undefined) return this.ended ? { cut: true, partial: this.buf } : undefined;
    this.buf = this.buf.subarray(body.end);
    const { start, fields } = parsed;
    return { status, start, fields, body: body.body, trailers: body.trailers };
  }
}

// ---------------------------------------------------------------------------
// The raw target.
// ---------------------------------------------------------------------------

/** A request as the target read it off the wire. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly version: string;
  readonly fields: Field[];
  readonly body: Buffer;
  readonly trailers: Field[];
  /** 1 for the target's first accepted connection, and so on. */
  readonly conn: number;
}

type Handler = (req: Seen, socket: net.Socket) => void;

/** A raw HTTP/1.1 server that parses each request strictly and lets `handler` answer in bytes. */
class Target extends Waitable {
  port = 0;
  connections = 0;
  closedConnections = 0;
  bytes = 0;
  readonly requests: Seen[] = [];
  /** Requests the target could not parse (the gateway sent bad bytes). */
  readonly errors: string[] = [];
  private readonly handler: Handler;
  private readonly sockets = new Set<net.Socket>();
  private stopListening: () => void = () => undefined;

  private constructor(handler: Handler) {
    super();
    this.handler = handler;
  }

  static async start(handler: Handler): Promise<Target> {
    const target = new Target(handler);
    const peer = await startPeer((socket) => target.accept(socket));
    target.port = peer.port;
    target.stopListening = peer.close;
    return target;
  }

  close(): void {
    this.stopListening();
    this.dropConnections();
  }

  /** Closes every connection it has, listening on. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  protected override state(): string {
    return `connections=${this.connections}, closed=${this.closedConnections}, bytes=${this.bytes}, requests=${this.requests.length}`;
  }

  private accept(socket: net.Socket): void {
    const conn = ++this.connections;
    this.sockets.add(socket);
    let buf = Buffer.alloc(0);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.closedConnections++;
      this.poke();
    });
    socket.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      buf = Buffer.concat([buf, chunk]);
      try {
        for (let head = parseHead(buf); head !== undefined; head = parseHead(buf)) {
          const [method = '', url = '', version = '', ...extra] = head.start.split(' ');
          if (extra.length > 0 || !/^HTTP\/1\.1$/.test(version)) {
            throw new Error(`bad request line ${JSON.stringify(head.start)}`);
          }
          const body = readBody(buf, head.size, framingOf(head.fields, false, true), false);
          if (body === undefined) break;
          buf = buf.subarray(body.end);
          const seen = { method, url, version, fields: head.fields, conn, ...body };
          this.requests.push(seen);
          this.handler(seen, socket);
        }
      } catch (err) {
        this.errors.push(String(err));
        socket.destroy();
      }
      this.poke();
    });
    this.poke();
  }
}

const REASONS: Partial<Record<number, string>> = {
  200: 'OK',
  204: 'No Content',
  304: 'Not Modified',
};

/** Writes a response with a Content-Length body and the given extra field lines. */
function answer(
  socket: net.Socket,
  body: string | Buffer = '',
  fields: readonly string[] = [],
  status = 200,
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'latin1') : body;
  const head =
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Whatever'}\r\n` +
    fields.map((f) => `${f}\r\n`).join('') +
    `Content-Length: ${bytes.length}\r\n\r\n`;
  socket.write(Buffer.concat([Buffer.from(head, 'latin1'), bytes]));
}

/** A target answering every request with `METHOD URL`. */
const echoLine: Handler = (req, socket) => answer(socket, `${req.method} ${req.url}`);

// ---------------------------------------------------------------------------
// One gateway and target per test, torn down after it.
// ---------------------------------------------------------------------------

interface Rig {
  readonly gw: TestGateway;
  readonly target: Target;
  readonly port: number;
  /** A new raw client connection to the listener. */
  readonly open: () => Promise<Client>;
}

const live = {
  clients: [] as net.Socket[],
  targets: [] as Target[],
  gateways: [] as TestGateway[],
};

afterEach(async () => {
  for (const socket of live.clients.splice(0)) socket.destroy();
  for (const target of live.targets.splice(0)) target.close();
  await Promise.all(live.gateways.splice(0).map((gw) => gw.close()));
});

/**
 * A gateway whose `web` listener sends the requests under `prefix` (all, by
 * default) to one raw target run by `handler`; `listener` adds YAML lines to
 * the listener (timeouts, limits).
 */
async function rig(handler: Handler, listener: readonly string[] = [], prefix = '/'): Promise<Rig> {
  const target = await Target.start(handler);
  live.targets.push(target);
  const gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
${listener.map((line) => `    ${line}\n`).join('')}    routes: [{ match: { pathPrefix: ${prefix} }, upstream: t }]
upstreams:
  - { name: t, targets: ["127.0.0.1:${target.port}"] }
`);
  live.gateways.push(gw);
  const port = gw.port('web');
  return {
    gw,
    target,
    port,
    open: async () => {
      const socket = await connect(port);
      live.clients.push(socket);
      return new Client(socket);
    },
  };
}

/** A GET of `path` with Host and any extra field lines. */
function get(path: string, fields: readonly string[] = []): string {
  return `GET ${path} HTTP/1.1\r\nHost: gw.test\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`;
}

// ---------------------------------------------------------------------------
// The specification.
// ---------------------------------------------------------------------------

describe('gw proxy http listener on the wire (RFC 9112)', () => {
  describe('connections and framing', () => {
    it(
      'answers three GETs pipelined in one write with three responses, in order',
      BOUND,
      async () => {
        const { open, target } = await rig(echoLine);
        const client = await open();
        client.send(get('/one') + get('/two') + get('/three'));
        for (const path of ['/one', '/two', '/three']) {
          const res = await client.response();
          assert.equal(res.status, 200);
          assert.equal(res.body.toString(), `GET ${path}`);
        }
        assert.deepEqual(
          target.requests.map((r) => r.url),
          ['/one', '/two', '/three'],
        );
      },
    );

    it(
      'keeps the boundary of a pipelined POST body and the GET written after it',
      BOUND,
      async () => {
        const { open } = await rig((req, socket) =>
          answer(socket, `${req.method} ${req.url} [${req.body.toString()}]`),
        );
        const client = await open();
        client.send(
          'POST /a HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 11\r\n\r\nhello world' + get('/b'),
        );
        assert.equal((await client.response()).body.toString(), 'POST /a [hello world]');
        assert.equal((await client.response()).body.toString(), 'GET /b []');
      },
    );

    it('closes an HTTP/1.0 connection without keep-alive after its response', BOUND, async () => {
      const { open } = await rig(echoLine);
      const client = await open();
      client.send('GET /old HTTP/1.0\r\nHost: gw.test\r\n\r\n');
      const res = await client.response();
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'GET /old');
      await client.closed();
      assert.equal(client.pending.length, 0);
    });

    it(
      'keeps an HTTP/1.0 keep-alive connection open for a second request (RFC 9112 §9.3)',
      BOUND,
      async () => {
        const { open } = await rig(echoLine);
        const client = await open();
        for (const path of ['/first', '/second']) {
          client.send(`GET ${path} HTTP/1.0\r\nHost: gw.test\r\nConnection: keep-alive\r\n\r\n`);
          const res = await client.response();
          assert.equal(res.status, 200);
          assert.equal(res.body.toString(), `GET ${path}`);
          // An HTTP/1.0 client only keeps the connection if the response says so.
          assert.match(one(res.fields, 'connection') ?? '', /keep-alive/i);
          assert.equal(client.ended, false);
        }
      },
    );

    it(
      'relays a close-delimited target response (no length, no chunking) completely',
      BOUND,
      async () => {
        const { open } = await rig((_req, socket) => {
          socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one,');
          setTimeout(() => socket.write(' part two,'), 30);
          setTimeout(() => socket.end(' the end'), 60);
        });
        const client = await open();
        client.send(get('/eof'));
        const res = await client.response();
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'part one, part two, the end');
      },
    );

    it(
      'relays a chunked response with chunk extensions, written in pieces, byte for byte',
      BOUND,
      async () => {
        const pieces = [
          'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhel',
          'lo\r\n',
          '6;quoted="a;b c";flag\r\n wor',
          'ld\r\n1',
          '0\r\n0123456789ABCDEF\r\n',
          '0\r\n',
          '\r\n',
        ];
        const { open } = await rig((_req, socket) => {
          pieces.forEach((piece, i) => setTimeout(() => socket.write(piece), i * 20));
        });
        const client = await open();
        client.send(get('/chunks'));
        const res = await client.response();
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'hello world0123456789ABCDEF');
      },
    );

    it('relays 204 and 304 without a body, and the connection carries on', BOUND, async () => {
      const { open } = await rig((req, socket) => {
        if (req.url === '/204') socket.write('HTTP/1.1 204 No Content\r\nX-Kind: none\r\n\r\n');
        else if (req.url === '/304')
          socket.write('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n');
        else answer(socket, 'after');
      });
      const client = await open();
      client.send(get('/204'));
      const noContent = await client.response();
      assert.equal(noContent.status, 204);
      assert.equal(noContent.body.length, 0);
      assert.equal(one(noContent.fields, 'x-kind'), 'none');
      // RFC 9110 §8.6, RFC 9112 §6.1: neither framing field in a 204.
      assert.equal(one(noContent.fields, 'content-length'), undefined);
      assert.equal(one(noContent.fields, 'transfer-encoding'), undefined);
      client.send(get('/304', ['If-None-Match: "v1"']));
      const notModified = await client.response();
      assert.equal(notModified.status, 304);
      assert.equal(one(notModified.fields, 'etag'), '"v1"');
      assert.equal(one(notModified.fields, 'transfer-encoding'), undefined);
      client.send(get('/next'));
      const next = await client.response();
      assert.equal(next.status, 200);
      assert.equal(next.body.toString(), 'after');
    });

    it(
      'relays a 304 whose Content-Length states the representation size, without a body',
      {
        ...BOUND,
      },
      async () => {
        const { open } = await rig((req, socket) => {
          if (req.url === '/304') {
            socket.write('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 10\r\n\r\n');
          } else answer(socket, 'after');
        });
        const client = await open();
        client.send(get('/304', ['If-None-Match: "v1"']));
        const notModified = await client.response();
        assert.equal(notModified.status, 304);
        assert.equal(notModified.body.length, 0);
        assert.equal(one(notModified.fields, 'etag'), '"v1"');
        client.send(get('/next'));
        assert.equal((await client.response()).body.toString(), 'after');
      },
    );

    it(
      'answers HEAD with the Content-Length of GET and no body, and the connection carries on',
      BOUND,
      async () => {
        const { open } = await rig((req, socket) => {
          if (req.method === 'HEAD') {
            socket.write(
              'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n',
            );
          } else answer(socket, 'x'.repeat(1000), ['Content-Type: text/plain']);
        });
        const client = await open();
        client.send('HEAD /doc HTTP/1.1\r\nHost: gw.test\r\n\r\n');
        const head = await client.response({ head: true });
        assert.equal(head.status, 200);
        assert.equal(one(head.fields, 'content-length'), '1000');
        await sleep(100);
        assert.equal(client.pending.length, 0, 'bytes after the HEAD response');
        client.send(get('/doc'));
        const full = await client.response();
        assert.equal(full.status, 200);
        assert.equal(full.body.length, 1000);
      },
    );

    it(
      'opens a new upstream connection after the target answered Connection: close',
      BOUND,
      async () => {
        const { open, target } = await rig((req, socket) => {
          answer(socket, `GET ${req.url}`, ['Connection: close']);
          socket.end();
        });
        const client = await open();
        for (const path of ['/a', '/b', '/c']) {
          client.send(get(path));
          const res = await client.response();
          assert.equal(res.status, 200);
          assert.equal(res.body.toString(), `GET ${path}`);
        }
        assert.equal(client.ended, false);
        assert.equal(target.connections, 3);
      },
    );

    it(
      'survives a pooled upstream connection that the target closed while idle',
      BOUND,
      async () => {
        const { open, target } = await rig((req, socket) => {
          answer(socket, `GET ${req.url}`);
          setTimeout(() => socket.end(), 100);
        });
        const client = await open();
        client.send(get('/before'));
        assert.equal((await client.response()).status, 200);
        await target.until(() => (target.closedConnections === 1 ? true : undefined), 'idle close');
        await sleep(100);
        client.send(get('/after'));
        const res = await client.response();
        assert.equal(res.status, 200, one(res.fields, 'x-gw-error'));
        assert.equal(res.body.toString(), 'GET /after');
        assert.equal(target.connections, 2);
      },
    );

    it(
      'reuses one upstream connection for many sequential requests of one client connection',
      BOUND,
      async () => {
        const { open, target } = await rig(echoLine);
        const client = await open();
        for (let i = 0; i < 25; i++) {
          client.send(get(`/n/${i}`));
          assert.equal((await client.response()).body.toString(), `GET /n/${i}`);
        }
        assert.equal(target.requests.length, 25);
        assert.equal(target.connections, 1);
      },
    );

    it(
      'closes the connection after the response when the client sent Connection: close',
      BOUND,
      async () => {
        const { open } = await rig(echoLine);
        const client = await open();
        client.send(get('/last', ['Connection: close']));
        const res = await client.response();
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'GET /last');
        await client.closed();
        assert.equal(client.pending.length, 0);
      },
    );

    it('relays a 1 MiB response written in pieces byte for byte', BOUND, async () => {
      const data = randomBytes(1 << 20);
      const { open } = await rig((_req, socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`);
        for (let at = 0; at < data.length; at += 50_000)
          socket.write(data.subarray(at, at + 50_000));
      });
      const client = await open();
      client.send(get('/big'));
      const res = await client.response();
      assert.equal(res.body.length, data.length);
      assert.equal(sha256(res.body), sha256(data));
    });

    // gw reads targets into one reused buffer; bytes still queued for a slow client must not
    // be overwritten by the next read. The client stops reading now and then, so writes queue.
    for (const framing of ['content-length', 'chunked', 'close'] as const) {
      it(
        `relays 16 MiB (${framing}) byte for byte to a client that keeps pausing`,
        { timeout: 20_000 },
        async () => {
          const data = randomBytes(16 << 20);
          const { open } = await rig((_req, socket) => {
            if (framing === 'content-length') {
              // Small pieces, each its own read at gw: small queued writes below the
              // high-water mark are where a reused read buffer would be overwritten.
              socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`);
              let at = 0;
              const more = (): void => {
                for (let n = 0; n < 8 && at < data.length; n++, at += 4096)
                  socket.write(data.subarray(at, at + 4096));
                if (at < data.length) setImmediate(more);
              };
              more();
            } else if (framing === 'chunked') {
              socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
              for (let at = 0; at < data.length; at += 300_000) {
                const part = data.subarray(at, at + 300_000);
                socket.write(`${part.length.toString(16)}\r\n`);
                socket.write(part);
                socket.write('\r\n');
              }
              socket.write('0\r\n\r\n');
            } else {
              socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n');
              socket.end(data);
            }
          });
          const client = await open();
          // Not reading at first fills every kernel buffer on the way, so gw's writes queue.
          client.socket.pause();
          setTimeout(() => client.socket.resume(), 300);
          const pauses = setInterval(() => {
            client.socket.pause();
            setTimeout(() => client.socket.resume(), 40);
          }, 60);
          try {
            client.send(get('/big'));
            const res = await client.response({ ms: 15_000 });
            assert.equal(res.body.length, data.length);
            assert.equal(sha256(res.body), sha256(data));
          } finally {
            clearInterval(pauses);
          }
        },
      );
    }
  });

  describe('request bodies', () => {
    /** A target answering with the body's length and hash. */
    const measure: Handler = (req, socket) =>
      answer(socket, `${req.body.length} ${sha256(req.body)}`);

    it(
      'forwards a 100000-byte Content-Length body sent in 10 pieces completely',
      BOUND,
      async () => {
        const { open } = await rig(measure);
        const client = await open();
        const data = randomBytes(100_000);
        client.send('POST /up HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 100000\r\n\r\n');
        for (let i = 0; i < 10; i++) {
          await sleep(5);
          client.send(data.subarray(i * 10_000, (i + 1) * 10_000));
        }
        const res = await client.response();
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), `100000 ${sha256(data)}`);
      },
    );

    it('forwards a chunked upload with its exact bytes', BOUND, async () => {
      const { open } = await rig(measure);
      const client = await open();
      const big = randomBytes(3000);
      client.send('POST /up HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n');
      const pieces = [
        '5;ext=1\r\nhello\r\n',
        `${big.length.toString(16)}\r\n`,
        big,
        '\r\n1\r',
        '\n!\r\n0\r\n\r\n',
      ];
      for (const piece of pieces) {
        await sleep(5);
        client.send(piece);
      }
      const res = await client.response();
      assert.equal(res.status, 200);
      const sent = Buffer.concat([Buffer.from('hello'), big, Buffer.from('!')]);
      assert.equal(res.body.toString(), `${sent.length} ${sha256(sent)}`);
    });

    it(
      'sends 100 Continue to an Expect: 100-continue upload before its body, then the answer',
      BOUND,
      async () => {
        const { open } = await rig((req, socket) => answer(socket, `got ${req.body.toString()}`));
        const client = await open();
        client.send(
          'POST /e HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n',
        );
        const interim = await client.response();
        assert.equal(interim.start, 'HTTP/1.1 100 Continue');
        client.send('hello');
        const { final } = await client.final();
        assert.equal(final.status, 200);
        assert.equal(final.body.toString(), 'got hello');
      },
    );

    it('aborts the upstream request when the client goes away mid-upload', BOUND, async () => {
      const { open, target } = await rig(measure);
      const client = await open();
      client.send('POST /up HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 1048576\r\n\r\n');
      client.send(Buffer.alloc(10_240, 0x61));
      await target.until(() => (target.bytes >= 10_240 ? true : undefined), 'upload at the target');
      client.socket.destroy();
      await target.until(
        () => (target.closedConnections >= 1 ? true : undefined),
        'close of the upstream connection',
        2000,
      );
      assert.equal(target.requests.length, 0);
    });
  });

  describe('responses from odd targets', () => {
    it('delivers the final 200 after a 103 Early Hints from the target', BOUND, async () => {
      const { open } = await rig((_req, socket) => {
        socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n');
        setTimeout(() => answer(socket, 'final body'), 30);
      });
      const client = await open();
      client.send(get('/hints'));
      const { interim, final } = await client.final();
      assert.ok(interim.every((r) => r.status === 103));
      assert.equal(final.status, 200);
      assert.equal(final.body.toString(), 'final body');
    });

    it(
      'answers 502 with x-gw-error for a target that answers garbage, and keeps serving',
      BOUND,
      async () => {
        const { open } = await rig((req, socket) => {
          if (req.url === '/garbage') socket.write('HELLO\r\n\r\n');
          else answer(socket, 'fine');
        });
        const client = await open();
        client.send(get('/garbage'));
        const res = await client.response();
        assert.equal(res.status, 502);
        assert.match(one(res.fields, 'x-gw-error') ?? '', /^GW_ERR_/);
        const again = await open();
        again.send(get('/ok'));
        assert.equal((await again.response()).body.toString(), 'fine');
      },
    );

    /** A response whose head is about 71 KB: 70 fields of 1000 bytes. */
    const hugeHead = (): Buffer => {
      const padding = Array.from({ length: 70 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(1000)}\r\n`);
      return Buffer.from(`HTTP/1.1 200 OK\r\n${padding.join('')}Content-Length: 5\r\n\r\nnever`);
    };

    it(
      'answers 502 for a target response head over 64 KiB sent in one write, and keeps serving',
      BOUND,
      async () => {
        const { open } = await rig((req, socket) => {
          if (req.url === '/huge') socket.write(hugeHead());
          else answer(socket, 'fine');
        });
        const client = await open();
        client.send(get('/huge'));
        const res = await client.response();
        assert.equal(res.status, 502);
        assert.match(one(res.fields, 'x-gw-error') ?? '', /^GW_ERR_/);
        const again = await open();
        again.send(get('/ok'));
        assert.equal((await again.response()).body.toString(), 'fine');
      },
    );

    it(
      'answers 502 for a target response head over 64 KiB trickled in pieces, and keeps serving',
      BOUND,
      async () => {
        const { open } = await rig((req, socket) => {
          if (req.url !== '/huge') {
            answer(socket, 'fine');
            return;
          }
          const head = hugeHead();
          for (let i = 0; i * 8192 < head.length; i++) {
            setTimeout(() => {
              if (!socket.destroyed) socket.write(head.subarray(i * 8192, (i + 1) * 8192));
            }, i * 5);
          }
        });
        const client = await open();
        client.send(get('/huge'));
        const res = await client.response();
        assert.equal(res.status, 502);
        assert.match(one(res.fields, 'x-gw-error') ?? '', /^GW_ERR_/);
        const again = await open();
        again.send(get('/ok'));
        assert.equal((await again.response()).body.toString(), 'fine');
      },
    );

    it('answers 502 for a target that closes without answering', BOUND, async () => {
      const { open } = await rig((_req, socket) => socket.end());
      const client = await open();
      client.send(get('/silent'));
      const res = await client.response();
      assert.equal(res.status, 502);
      assert.match(one(res.fields, 'x-gw-error') ?? '', /^GW_ERR_/);
    });

    for (const { how, stop } of [
      { how: 'resets mid-body', stop: (socket: net.Socket) => socket.resetAndDestroy() },
      {
        how: 'closes before its Content-Length is complete',
        stop: (socket: net.Socket) => socket.end(),
      },
    ]) {
      it(
        `cuts the client connection when the target ${how} (never a clean short response)`,
        BOUND,
        async () => {
          const { open } = await rig((_req, socket) => {
            socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n${'a'.repeat(100)}`);
            setTimeout(() => stop(socket), 50);
          });
          const client = await open();
          client.send(get('/cut'));
          const outcome = await client.next();
          if (!('cut' in outcome)) assert.equal(outcome.status, 502, 'a complete response');
        },
      );
    }

    it(
      'never passes both Content-Length and Transfer-Encoding from a target that sent both',
      BOUND,
      async () => {
        const { open } = await rig((_req, socket) =>
          socket.write(
            'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
          ),
        );
        const client = await open();
        client.send(get('/both'));
        // The client parser throws if both arrive; RFC 9112 §6.3: TE wins, or it is an error.
        const res = await client.response();
        if (res.status !== 502) {
          assert.equal(res.status, 200);
          assert.equal(res.body.toString(), 'hello');
        }
      },
    );
  });

  describe('header handling (RFC 9110 §7.6)', () => {
    it(
      'drops hop-by-hop response headers, keeps end-to-end ones, Set-Cookie as separate lines',
      BOUND,
      async () => {
        const { open } = await rig((_req, socket) =>
          socket.write(
            'HTTP/1.1 200 OK\r\n' +
              'Connection: keep-alive, X-Hop\r\n' +
              'Keep-Alive: timeout=5, max=77\r\n' +
              'X-Hop: secret\r\n' +
              'Upgrade: h2c\r\n' +
              'Proxy-Authenticate: Basic realm="up"\r\n' +
              'Proxy-Foo: bar\r\n' +
              'Set-Cookie: a=1; Path=/\r\n' +
              'Set-Cookie: b=2; Path=/; HttpOnly\r\n' +
              'Cache-Control: no-store\r\n' +
              'X-End: yes\r\n' +
              'Transfer-Encoding: chunked\r\n' +
              '\r\n5\r\nhello\r\n0\r\n\r\n',
          ),
        );
        const client = await open();
        client.send(get('/headers'));
        const res = await client.response();
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'hello');
        const names = res.fields.map(([name]) => name);
        for (const value of values(res.fields, 'connection')) assert.doesNotMatch(value, /x-hop/i);
        for (const value of values(res.fields, 'keep-alive')) assert.doesNotMatch(value, /max=77/);
        assert.equal(values(res.fields, 'x-hop').length, 0);
        assert.equal(values(res.fields, 'upgrade').length, 0);
        assert.deepEqual(
          names.filter((n) => n.startsWith('proxy-')),
          [],
        );
        const te = values(res.fields, 'transfer-encoding');
        assert.ok(te.length === 0 || (te.length === 1 && te[0] === 'chunked'), te.join(' | '));
        assert.deepEqual(values(res.fields, 'set-cookie'), [
          'a=1; Path=/',
          'b=2; Path=/; HttpOnly',
        ]);
        assert.equal(one(res.fields, 'cache-control'), 'no-store');
        assert.equal(one(res.fields, 'x-end'), 'yes');
      },
    );

    it(
      'sends Host as given, X-Forwarded-For/-Proto, no hop-by-hop fields, repeated fields kept',
      BOUND,
      async () => {
        const { open, target } = await rig(echoLine);
        const client = await open();
        client.send(
          'GET /fields?q=1 HTTP/1.1\r\n' +
            'Host: public.example.test:8080\r\n' +
            'Connection: keep-alive, X-Private\r\n' +
            'X-Private: secret\r\n' +
            'Keep-Alive: timeout=1\r\n' +
            'TE: trailers\r\n' +
            'Proxy-Authorization: Basic Zm9vOmJhcg==\r\n' +
            'Proxy-Connection: keep-alive\r\n' +
            'X-Forwarded-For: 6.6.6.6\r\n' +
            'Cookie: a=1\r\n' +
            'Cookie: b=2\r\n' +
            'X-Custom: one\r\n' +
            'X-Custom: two\r\n' +
            '\r\n',
        );
        assert.equal((await client.response()).status, 200);
        const [seen] = target.requests;
        assert.ok(seen !== undefined);
        assert.equal(seen.url, '/fields?q=1');
        assert.deepEqual(values(seen.fields, 'host'), ['public.example.test:8080']);
        assert.deepEqual(values(seen.fields, 'x-forwarded-for'), ['127.0.0.1']);
        assert.deepEqual(values(seen.fields, 'x-forwarded-proto'), ['http']);
        for (const name of [
          'x-private',
          'keep-alive',
          'te',
          'proxy-authorization',
          'proxy-connection',
        ]) {
          assert.deepEqual(values(seen.fields, name), [], name);
        }
        for (const value of values(seen.fields, 'connection'))
          assert.doesNotMatch(value, /x-private/i);
        // Two Cookie lines, or one joined with "; " (the Cookie separator, RFC 6265 §5.4).
        const cookies = values(seen.fields, 'cookie');
        assert.ok(
          cookies.join('; ') === 'a=1; b=2',
          `cookies at the target: ${JSON.stringify(cookies)}`,
        );
        assert.equal(values(seen.fields, 'x-custom').join(', '), 'one, two');
      },
    );
  });

  describe('limits and timeouts', () => {
    it(
      'answers 408 and closes a connection whose headers do not all arrive within timeouts.headerMs',
      {
        ...BOUND,
      },
      async () => {
        const { open, target } = await rig(echoLine, ['timeouts: { headerMs: 300 }']);
        const client = await open();
        const started = performance.now();
        client.send('GET /slow HTTP/1.1\r\nHost: gw.test\r\nX-Partial: ');
        await client.closed(2500);
        const elapsed = performance.now() - started;
        assert.ok(elapsed >= 250, `closed after ${Math.round(elapsed)} ms, before the timeout`);
        const outcome = parseHead(client.pending);
        assert.ok(outcome !== undefined, 'no answer before the close');
        assert.match(outcome.start, /^HTTP\/1\.1 408 /);
        assert.match(
          client.pending.toString('latin1'),
          /\r\nx-gw-error: GW_ERR_CLIENT_TIMEOUT\r\n/i,
        );
        assert.equal(target.connections, 0);
      },
    );

    it(
      'answers 431 or 414 for a request line over the header limit, sending nothing upstream',
      BOUND,
      async () => {
        const { open, target } = await rig(echoLine, ['limits: { maxHeaderBytes: 8192 }']);
        const client = await open();
        client.send(get(`/${'a'.repeat(20_000)}`));
        const res = await client.response();
        assert.ok([414, 431].includes(res.status), `status ${res.status}`);
        await client.closed();
        assert.equal(target.connections, 0);
      },
    );
  });

  describe('refuses malformed and ambiguous requests: 400 and close, nothing upstream', () => {
    const cases: { name: string; bytes: string; statuses?: number[] }[] = [
      {
        name: 'both Content-Length and Transfer-Encoding',
        bytes:
          'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      },
      {
        name: 'two different Content-Length values',
        bytes: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
      },
      {
        name: 'Content-Length: +5',
        bytes: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello',
      },
      {
        name: 'Content-Length: 5, 6',
        bytes: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\nhello!',
      },
      {
        name: 'Transfer-Encoding: chunked, identity (chunked not last)',
        bytes:
          'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      },
      {
        name: 'Transfer-Encoding: xchunked (400 or 501)',
        bytes:
          'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
        statuses: [400, 501],
      },
      {
        name: 'whitespace between a field name and the colon (Host : x)',
        bytes: 'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
      },
      {
        name: 'whitespace between another field name and the colon',
        bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX-Test : y\r\n\r\n',
      },
      {
        name: 'obs-fold (a field line starting with a space)',
        bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n',
      },
      {
        name: 'a NUL byte in a field value',
        bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX-Nul: a\0b\r\n\r\n',
      },
      {
        name: 'a request line ended by a bare LF',
        bytes: 'GET / HTTP/1.1\nHost: x\r\n\r\n',
      },
      {
        name: 'an HTTP/1.1 request without Host',
        bytes: 'GET / HTTP/1.1\r\nX-Other: y\r\n\r\n',
      },
      {
        name: 'two Host fields',
        bytes: 'GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n',
      },
      {
        name: 'a space inside the request target (GET /a b HTTP/1.1)',
        bytes: 'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n',
      },
      {
        name: 'HTTP/2.0 on an HTTP/1 request line (505 or 400)',
        bytes: 'GET / HTTP/2.0\r\nHost: x\r\n\r\n',
        statuses: [505, 400],
      },
      {
        name: 'a field name with a forbidden character',
        bytes: 'GET / HTTP/1.1\r\nHost: x\r\nX(y): z\r\n\r\n',
      },
    ];
    for (const { name, bytes, statuses = [400] } of cases) {
      it(name, BOUND, async () => {
        const { open, target } = await rig(echoLine);
        const client = await open();
        // A second request after the bad one must not be read as a request either.
        client.send(bytes + get('/smuggled'));
        const res = await client.response();
        assert.ok(
          statuses.includes(res.status),
          `status ${res.status}, wanted ${statuses.join(' or ')}`,
        );
        await client.closed();
        assert.doesNotMatch(client.pending.toString('latin1'), /HTTP\/1\.1/);
        await sleep(50);
        assert.equal(target.connections, 0, 'a connection reached the target');
        assert.equal(target.bytes, 0);
      });
    }

    it('an invalid chunk size (zz) in a chunked body gets no 2xx', BOUND, async () => {
      const { open } = await rig(echoLine);
      const client = await open();
      client.send(
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
      );
      const outcome = await client.next();
      if (!('cut' in outcome)) assert.ok(outcome.status >= 400, `status ${outcome.status}`);
      await client.closed();
    });
  });
});

/** A gateway routing only the prefix `/t` to a raw target: other paths get the gateway's 404. */
const routedRig = (handler: Handler, listener: readonly string[] = []): Promise<Rig> =>
  rig(handler, listener, '/t');

describe('gw proxy http listener: cases found in review', () => {
  it(
    'a Content-Length the client names in Connection still frames the body for the target (no smuggling)',
    BOUND,
    async () => {
      const { open, target } = await routedRig(echoLine);
      const client = await open();
      const smuggled = 'GET /admin HTTP/1.1\r\nHost: gw.test\r\n\r\n';
      client.send(
        `POST /t/x HTTP/1.1\r\nHost: gw.test\r\nConnection: keep-alive, content-length, host\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      );
      const res = await client.response();
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'POST /t/x');
      await sleep(100);
      assert.deepEqual(
        target.requests.map((r) => `${r.method} ${r.url} ${r.body.length}`),
        [`POST /t/x ${smuggled.length}`],
      );
      const seen = target.requests[0];
      assert.equal(one(seen?.fields ?? [], 'content-length'), String(smuggled.length));
      assert.equal(one(seen?.fields ?? [], 'host'), 'gw.test');
    },
  );

  it('sends one normalised Content-Length for a repeated one', BOUND, async () => {
    const { open, target } = await routedRig(echoLine);
    const client = await open();
    client.send(
      'POST /t/x HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
    );
    assert.equal((await client.response()).status, 200);
    assert.deepEqual(values(target.requests[0]?.fields ?? [], 'content-length'), ['3']);
  });

  it(
    'reads no more pipelined requests while the client does not read its answers',
    { timeout: 15_000 },
    async () => {
      const big = Buffer.alloc(8192, 'x');
      const { open, target } = await routedRig((_req, socket) => answer(socket, big));
      const client = await open();
      client.socket.pause(); // reads nothing
      const request = get('/t/big');
      client.send(request.repeat(20_000));
      await sleep(1500);
      // Kernel buffers on both sides hold a few MB of answers at most; without backpressure the
      // gateway fetched all 20,000 (160 MB) from the target.
      assert.ok(target.requests.length < 5000, `target served ${target.requests.length}`);
      const served = target.requests.length;
      client.socket.resume();
      await target.until(
        () => (target.requests.length > served ? true : undefined),
        'more requests once the client reads',
      );
    },
  );

  it(
    'sends a bodiless POST once, even when its reused connection dies before an answer',
    BOUND,
    async () => {
      const { open, target } = await routedRig((req, socket) => {
        if (req.method === 'GET') answer(socket, 'ok');
        else socket.destroy(); // acts on the POST, then the connection dies
      });
      const client = await open();
      client.send(get('/t/first'));
      assert.equal((await client.response()).status, 200);
      client.send('POST /t/charge HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 0\r\n\r\n');
      const res = await client.response();
      assert.equal(res.status, 502);
      await sleep(100);
      assert.equal(target.requests.filter((r) => r.method === 'POST').length, 1);
    },
  );

  it(
    'resends a bodiless GET whose reused connection was closed by the target (keep-alive race)',
    BOUND,
    async () => {
      const { open, target } = await routedRig((req, socket) => {
        if (req.url === '/t/first') answer(socket, 'ok');
        else answer(socket, 'second');
      });
      const client = await open();
      client.send(get('/t/first'));
      assert.equal((await client.response()).status, 200);
      // The target drops its idle connection without a word, as a server's keep-alive timeout does.
      target.dropConnections();
      await target.until(() => (target.closedConnections > 0 ? true : undefined), 'the close');
      client.send(get('/t/second'));
      const res = await client.response();
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'second');
    },
  );

  it(
    "answers a HEAD to the gateway's own 404 without a body, keeping the connection in step",
    BOUND,
    async () => {
      const { open } = await routedRig(echoLine);
      const client = await open();
      client.send(`HEAD /nowhere HTTP/1.1\r\nHost: gw.test\r\n\r\n${get('/t/after')}`);
      const head = await client.response({ head: true });
      assert.equal(head.status, 404);
      assert.equal(head.body.length, 0);
      const next = await client.response();
      assert.equal(next.status, 200);
      assert.equal(next.body.toString(), 'GET /t/after');
    },
  );

  it(
    'closes a connection whose dropped body (after a 404) turns out malformed',
    BOUND,
    async () => {
      const { open } = await routedRig(echoLine);
      const client = await open();
      client.send('POST /nowhere HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n');
      assert.equal((await client.response()).status, 404);
      client.send('zz\r\n');
      await client.closed(2000);
    },
  );

  it('answers 502 for a response in a transfer coding it cannot decode', BOUND, async () => {
    const { open } = await routedRig((_req, socket) =>
      socket.write(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      ),
    );
    const client = await open();
    client.send(get('/t/gz'));
    const res = await client.response();
    assert.equal(res.status, 502);
    assert.equal(one(res.fields, 'x-gw-error'), 'GW_ERR_UPSTREAM_RESET');
  });

  it('times out a client that sends only empty lines (408 after headerMs)', BOUND, async () => {
    const { open } = await routedRig(echoLine, ['timeouts: { headerMs: 300 }']);
    const client = await open();
    const timer = setInterval(() => client.send('\r\n'), 100);
    try {
      await client.closed(2500);
    } finally {
      clearInterval(timer);
    }
    assert.match(client.pending.toString('latin1'), /^HTTP\/1\.1 408 /);
  });

  it(
    "does not cut a request in flight at the listener's idleMs (the upstream's timeouts apply)",
    BOUND,
    async () => {
      const { open } = await routedRig(
        (_req, socket) => setTimeout(() => answer(socket, 'late'), 900),
        ['timeouts: { idleMs: 300 }'],
      );
      const client = await open();
      client.send(get('/t/slow'));
      const res = await client.response();
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'late');
    },
  );
});

describe('gw proxy http listener: a taken port', () => {
  it(
    'refuses with GW_ERR_PORT_IN_USE and leaves the listeners it started closed',
    BOUND,
    async () => {
      const holder = await startPeer((socket) => socket.destroy());
      const free = await freePort();
      const yaml = (second: string): string => `
listeners:
  - { name: first, protocol: http, listen: "127.0.0.1:${free}", routes: [{ match: { pathPrefix: / }, upstream: t }] }
  - { name: second, protocol: http, listen: "${second}", routes: [{ match: { pathPrefix: / }, upstream: t }] }
upstreams:
  - { name: t, targets: ["127.0.0.1:${holder.port}"] }
`;
      try {
        await assert.rejects(startTestGateway(yaml(`127.0.0.1:${holder.port}`)), (err: unknown) =>
          isGwError(err, 'GW_ERR_PORT_IN_USE'),
        );
        // The first listener was closed again: its port can be bound at once.
        const again = await startTestGateway(yaml('127.0.0.1:0'));
        live.gateways.push(again);
        assert.equal(again.port('first'), free);
      } finally {
        holder.close();
      }
    },
  );
});
