import assert from 'node:assert/strict';
import net from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import { after, before, describe, it, mock } from 'node:test';
import { parseConfig } from '../../../src/proxy/config/schema.js';
import { answerWs, writeRawReply } from '../../../src/proxy/listeners/http-answer.js';
import type { LocalReply } from '../../../src/proxy/pipeline/types.js';
import { WsExchange } from '../../../src/proxy/upstream/bridge-ws.js';
import { answerTcp, TcpExchange } from '../../../src/proxy/upstream/pipe-tcp.js';
import { TargetRegistry } from '../../../src/proxy/upstream/target-registry.js';
import type { UpstreamRuntime } from '../../../src/proxy/upstream/upstream-runtime.js';
import { forbidden, routeNotFound } from '../../../src/shared/errors.js';

// The listeners' local-reply writers: what goes on the wire when the gateway answers by itself.
// HTTP replies are read back from an in-memory stream; the TCP reset needs a real socket pair.

/** Everything written to `stream` until it ends, as bytes. */
function readAll(stream: PassThrough): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

interface Parsed {
  readonly statusLine: string;
  readonly fields: [string, string][];
  readonly body: Buffer;
}

function parseReply(bytes: Buffer): Parsed {
  const end = bytes.indexOf('\r\n\r\n');
  assert.ok(end > 0, 'a complete head');
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const fields = lines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
  return { statusLine, fields, body: bytes.subarray(end + 4) };
}

function field(reply: Parsed, name: string): string[] {
  return reply.fields.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

describe('writeRawReply', () => {
  it('writes a GwError as a whole HTTP/1.1 reply with its code, and closes', async () => {
    const socket = new PassThrough();
    const read = readAll(socket);
    writeRawReply(socket, forbidden('test'));
    const reply = parseReply(await read);
    assert.equal(reply.statusLine, 'HTTP/1.1 403 Forbidden');
    assert.deepEqual(field(reply, 'content-type'), ['text/plain; charset=utf-8']);
    assert.deepEqual(field(reply, 'x-gw-error'), ['GW_ERR_FORBIDDEN']);
    assert.deepEqual(field(reply, 'connection'), ['close']);
    assert.equal(reply.body.toString(), '403 Forbidden\n');
    assert.deepEqual(field(reply, 'content-length'), [String(reply.body.length)]);
    assert.ok(!reply.body.toString().includes('test'), 'the message is never in the body');
  });

  it('adds the extra reply fields, in order', async () => {
    const socket = new PassThrough();
    const read = readAll(socket);
    writeRawReply(socket, routeNotFound('web'), ['x-served-by', 'gw', 'retry-after', '5']);
    const reply = parseReply(await read);
    assert.equal(reply.statusLine, 'HTTP/1.1 404 Not Found');
    assert.deepEqual(
      reply.fields.map(([n]) => n),
      ['content-type', 'x-gw-error', 'x-served-by', 'retry-after', 'content-length', 'connection'],
    );
    assert.deepEqual(field(reply, 'x-served-by'), ['gw']);
    assert.deepEqual(field(reply, 'retry-after'), ['5']);
  });

  it('counts content-length in UTF-8 bytes and sends the body as UTF-8', async () => {
    const reply: LocalReply = {
      code: '',
      httpStatus: 503,
      grpcStatus: 14,
      message: 'degraded',
      body: 'é — ok',
      contentType: 'text/plain; charset=utf-8',
    };
    const socket = new PassThrough();
    const read = readAll(socket);
    writeRawReply(socket, reply);
    const parsed = parseReply(await read);
    assert.equal(parsed.statusLine, 'HTTP/1.1 503 Service Unavailable');
    assert.deepEqual(field(parsed, 'x-gw-error'), [], 'no code, no x-gw-error');
    assert.equal(parsed.body.toString('utf8'), 'é — ok');
    assert.deepEqual(field(parsed, 'content-length'), [String(Buffer.byteLength('é — ok'))]);
    assert.deepEqual(field(parsed, 'content-length'), ['9']);
  });

  it('uses the reply’s content type and an unknown status’s reason "Error"', async () => {
    const socket = new PassThrough();
    const read = readAll(socket);
    writeRawReply(socket, {
      code: '',
      httpStatus: 599,
      grpcStatus: 2,
      message: '',
      body: '{}',
      contentType: 'application/json',
    });
    const reply = parseReply(await read);
    assert.equal(reply.statusLine, 'HTTP/1.1 599 Error');
    assert.deepEqual(field(reply, 'content-type'), ['application/json']);
    assert.equal(reply.body.toString(), '{}');
  });

  it('writes nothing on a socket that can no longer be written, and destroys it after 1 s', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const written: Buffer[] = [];
      const socket = new Duplex({
        read() {
          // Nothing to read: only what is written matters.
        },
        write(chunk: Buffer, _enc, done) {
          written.push(chunk);
          done();
        },
      });
      socket.end();
      writeRawReply(socket, forbidden('late'));
      assert.deepEqual(written, []);
      assert.equal(socket.destroyed, false);
      mock.timers.tick(1000);
      assert.equal(socket.destroyed, true);
    } finally {
      mock.timers.reset();
    }
  });

  it('cuts a peer that never reads after 1 s', () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const socket = new PassThrough();
      writeRawReply(socket, forbidden('slow reader'));
      mock.timers.tick(999);
      assert.equal(socket.destroyed, false);
      mock.timers.tick(1);
      assert.equal(socket.destroyed, true);
    } finally {
      mock.timers.reset();
    }
  });
});

function wsExchange(socket: Duplex): WsExchange {
  return new WsExchange({
    kind: 'ws',
    listener: 'web',
    clientIp: '127.0.0.1',
    method: 'GET',
    host: 'a.test',
    url: '/chat',
    path: '/chat',
    route: 'r',
    upstream: 'app',
    socket,
    early: Buffer.alloc(0),
    headers: {},
    forwardUrl: '/chat',
    fields: '',
    idleMs: 60_000,
    upstreamRuntime: undefined,
    refusal: undefined,
  });
}

describe('answerWs', () => {
  it('before the 101: writes the HTTP refusal with the reply fields and records it', async () => {
    const socket = new PassThrough();
    const read = readAll(socket);
    const ex = wsExchange(socket);
    ex.replyFields = ['x-served-by', 'gw'];
    answerWs(ex, forbidden('not allowed'));
    const reply = parseReply(await read);
    assert.equal(reply.statusLine, 'HTTP/1.1 403 Forbidden');
    assert.deepEqual(field(reply, 'x-gw-error'), ['GW_ERR_FORBIDDEN']);
    assert.deepEqual(field(reply, 'x-served-by'), ['gw']);
    assert.equal(ex.status, 403);
    assert.equal(ex.errorCode, 'GW_ERR_FORBIDDEN');
  });

  it('answers anything else thrown as 500 GW_ERR_INTERNAL', async () => {
    const socket = new PassThrough();
    const read = readAll(socket);
    const ex = wsExchange(socket);
    answerWs(ex, new TypeError('bug'));
    const reply = parseReply(await read);
    assert.equal(reply.statusLine, 'HTTP/1.1 500 Internal Server Error');
    assert.deepEqual(field(reply, 'x-gw-error'), ['GW_ERR_INTERNAL']);
    assert.equal(ex.errorCode, 'GW_ERR_INTERNAL');
  });

  it('after the 101: writes nothing and destroys the socket at once', () => {
    const written: Buffer[] = [];
    const socket = new Duplex({
      read() {
        // Nothing to read: only what is written matters.
      },
      write(chunk: Buffer, _enc, done) {
        written.push(chunk);
        done();
      },
    });
    const ex = wsExchange(socket);
    ex.status = 101;
    answerWs(ex, forbidden('too late'));
    assert.equal(socket.destroyed, true);
    assert.deepEqual(written, []);
    assert.equal(ex.status, 101, 'the status stays what the client got');
    assert.equal(ex.errorCode, 'GW_ERR_FORBIDDEN');
  });

  it('answers a thrown LocalReply that is not a GwError with its own status and body', async () => {
    const socket = new PassThrough();
    const read = readAll(socket);
    const reply: LocalReply = {
      code: '',
      httpStatus: 503,
      grpcStatus: 14,
      message: 'degraded',
      body: 'later',
    };
    answerWs(wsExchange(socket), reply);
    const parsed = parseReply(await read);
    assert.equal(parsed.statusLine, 'HTTP/1.1 503 Service Unavailable');
    assert.equal(parsed.body.toString(), 'later');
  });
});

describe('answerTcp', () => {
  let server: net.Server;
  let upstream: UpstreamRuntime;
  const accepted: net.Socket[] = [];
  const clients: net.Socket[] = [];

  before(async () => {
    server = net.createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const config = parseConfig(
      {
        listeners: [{ name: 'raw', protocol: 'tcp', listen: '127.0.0.1:0', upstream: 'app' }],
        upstreams: [{ name: 'app', targets: ['127.0.0.1:9'] }],
      },
      'test.yaml',
    );
    const runtime = new TargetRegistry().reconcile(config.upstreams).upstreams.get('app');
    assert.ok(runtime);
    upstream = runtime;
  });

  after(async () => {
    for (const socket of [...clients, ...accepted]) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A connected pair: the gateway's side (a TcpExchange) and the client's. */
  async function session(): Promise<{ ex: TcpExchange; client: net.Socket }> {
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    const count = accepted.length;
    const client = net.connect(address.port, '127.0.0.1');
    clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    for (let i = 0; i < 400 && accepted.length === count; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const gatewaySide = accepted[count];
    assert.ok(gatewaySide, 'the server accepted the connection');
    const ex = new TcpExchange({
      listener: 'raw',
      client: gatewaySide,
      upstreamRuntime: upstream,
      idleMs: 60_000,
    });
    return { ex, client };
  }

  /** How the client's side ends: the error code it sees, or `end` for a FIN. */
  function ending(client: net.Socket): Promise<string> {
    return new Promise((resolve) => {
      client.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      client.once('end', () => resolve('end'));
      client.resume();
    });
  }

  it('resets the client (it sees ECONNRESET) and records the code as outcome', async () => {
    const { ex, client } = await session();
    const ended = ending(client);
    answerTcp(ex, forbidden('client 127.0.0.1 is not in allowFrom'));
    assert.equal(await ended, 'ECONNRESET');
    assert.equal(ex.errorCode, 'GW_ERR_FORBIDDEN');
    assert.equal(ex.outcome, 'GW_ERR_FORBIDDEN');
    assert.equal(ex.client.destroyed, true);
    assert.equal(ex.upstream, 'app');
  });

  it('keeps an outcome already set (a session that ended) and still resets', async () => {
    const { ex, client } = await session();
    const ended = ending(client);
    ex.outcome = 'reset';
    answerTcp(ex, new Error('after the splice'));
    assert.equal(await ended, 'ECONNRESET');
    assert.equal(ex.outcome, 'reset');
    assert.equal(ex.errorCode, 'GW_ERR_INTERNAL');
  });
});
