/**
 * The HTTP/1.1 attacks of issue 13 against the `http` listener, through real
 * sockets on 127.0.0.1: a pipelining client that never lets up, smuggling
 * vectors that must each leave an access-log line, bodies trickled a byte at
 * a time, and the smaller request defects (userinfo, an empty Host, framing
 * fields in trailers, field names with `_`). Waits are bounded; no test
 * asserts a duration.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCert, startTestGateway, type TestGateway } from '../../helpers/proxy.js';
import { connect, startPeer } from '../../helpers/sockets.js';

const BOUND = { timeout: 20_000 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 10 ms until it holds or `ms` pass; returns whether it held. */
async function eventually(check: () => boolean, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await sleep(10);
  }
  return check();
}

/**
 * A raw HTTP/1.1 target: keeps every byte each connection sent, and answers
 * each complete request (Content-Length or chunked body) with `200 ok`.
 */
class Target {
  port = 0;
  connections = 0;
  closed = 0;
  requests = 0;
  /** What each connection sent, as latin1 text. */
  readonly received: string[] = [];
  private close: () => void = () => undefined;
  private readonly sockets = new Set<net.Socket>();

  static async start(): Promise<Target> {
    const target = new Target();
    const peer = await startPeer((socket) => target.accept(socket));
    target.port = peer.port;
    target.close = peer.close;
    return target;
  }

  stop(): void {
    this.close();
    for (const socket of this.sockets) socket.destroy();
  }

  private accept(socket: net.Socket): void {
    const index = this.connections++;
    this.received[index] = '';
    this.sockets.add(socket);
    let pending = '';
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed++;
      this.sockets.delete(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      this.received[index] = `${this.received[index] ?? ''}${text}`;
      pending += text;
      for (let end = requestEnd(pending); end > 0; end = requestEnd(pending)) {
        pending = pending.slice(end);
        this.requests++;
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
  }
}

/** Where the first complete request in `text` ends, or -1. */
function requestEnd(text: string): number {
  const head = text.indexOf('\r\n\r\n');
  if (head < 0) return -1;
  const fields = text.slice(0, head).toLowerCase();
  const length = /\r\ncontent-length: *(\d+)/.exec(fields);
  if (length !== null) {
    const end = head + 4 + Number(length[1]);
    return text.length >= end ? end : -1;
  }
  if (!/\r\ntransfer-encoding: *chunked/.test(fields)) return head + 4;
  // Chunked: up to the last chunk and the empty line that ends the trailer section.
  const last = text.indexOf('\r\n0\r\n', head + 2);
  if (last < 0) return -1;
  const end = text.indexOf('\r\n\r\n', last + 3);
  return end < 0 ? -1 : end + 4;
}

/** A raw client: what it got, as text, and whether the gateway closed. */
interface Client {
  readonly socket: net.Socket;
  text: string;
  closed: boolean;
}

const live = {
  gateways: [] as TestGateway[],
  targets: [] as Target[],
  sockets: [] as net.Socket[],
};

afterEach(async () => {
  for (const socket of live.sockets.splice(0)) socket.destroy();
  for (const target of live.targets.splice(0)) target.stop();
  await Promise.all(live.gateways.splice(0).map((gw) => gw.close()));
});

/** A gateway whose listener `web` (with extra YAML `lines`) sends everything to one raw target. */
async function rig(lines: readonly string[] = []): Promise<{ gw: TestGateway; target: Target }> {
  const target = await Target.start();
  live.targets.push(target);
  const gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
${lines.map((line) => `    ${line}\n`).join('')}    routes: [{ match: { pathPrefix: / }, upstream: t }]
upstreams:
  - { name: t, targets: ["127.0.0.1:${target.port}"] }
`);
  live.gateways.push(gw);
  return { gw, target };
}

async function open(gw: TestGateway): Promise<Client> {
  const socket = await connect(gw.port('web'));
  live.sockets.push(socket);
  const client: Client = { socket, text: '', closed: false };
  socket.on('data', (chunk: Buffer) => (client.text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  socket.on('close', () => (client.closed = true));
  return client;
}

/** Sends `bytes` on a new connection and returns everything the gateway answers before closing. */
async function exchange(gw: TestGateway, bytes: string, ms = 5000): Promise<string> {
  const client = await open(gw);
  client.socket.write(bytes, 'latin1');
  await eventually(() => client.closed, ms);
  return client.text;
}

const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

describe('issue 13: pipelining without end (defect 4)', () => {
  it(
    'a client pipelining GETs as fast as it can holds gw memory bounded while another client is served',
    BOUND,
    async () => {
      const { gw } = await rig();
      const attacker = await open(gw);
      let answers = 0;
      attacker.socket.on('data', () => {
        answers = (attacker.text.match(/HTTP\/1\.1 200/g) ?? []).length;
        if (attacker.text.length > 1 << 16) attacker.text = attacker.text.slice(-64);
      });
      const one = 'GET /flood HTTP/1.1\r\nHost: gw.test\r\n\r\n';
      const batch = one.repeat(2048);
      const baseline = process.memoryUsage().arrayBuffers;
      let peak = 0;
      let served = 0;
      const until = Date.now() + 2500;
      const flood = (async (): Promise<void> => {
        while (Date.now() < until && !attacker.closed) {
          if (!attacker.socket.write(batch))
            await Promise.race([new Promise((r) => attacker.socket.once('drain', r)), sleep(50)]);
          peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
        }
      })();
      // A legitimate client meanwhile: each of its requests is answered.
      const other = await open(gw);
      for (let i = 0; i < 10; i++) {
        other.text = '';
        other.socket.write('GET /legit HTTP/1.1\r\nHost: gw.test\r\n\r\n');
        assert.ok(await eventually(() => other.text.endsWith('ok')), `legit request ${i}`);
        served++;
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
      }
      await flood;
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
      assert.equal(served, 10);
      assert.ok(answers > 0, 'the attacker is answered too');
      // The gateway reads at most 64 KiB ahead per connection; before the fix it read (and
      // re-copied) everything the client wrote: hundreds of MB in a few seconds.
      assert.ok(peak < 32 * 1024 * 1024, `buffers grew by ${(peak / 1048576).toFixed(1)} MB`);
    },
  );
});

describe('issue 13: refused requests are logged (defect 8)', () => {
  const vectors: [name: string, bytes: string, status: number, line: RegExp][] = [
    [
      'Content-Length with Transfer-Encoding',
      'POST /cl-te HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
      / web POST \/cl-te 400 - - [\d.]+ms GW_ERR_BAD_REQUEST$/,
    ],
    [
      'obs-fold',
      'GET /fold HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n',
      400,
      / web GET \/fold 400 - - [\d.]+ms GW_ERR_BAD_REQUEST$/,
    ],
    [
      'bare LF',
      'GET /lf HTTP/1.1\nHost: x\r\n\r\n',
      400,
      / web GET \/lf 400 - - [\d.]+ms GW_ERR_BAD_REQUEST$/,
    ],
    [
      'HTTP/2.0 version',
      'GET /v2 HTTP/2.0\r\nHost: x\r\n\r\n',
      505,
      / web GET \/v2 505 - - [\d.]+ms GW_ERR_BAD_REQUEST$/,
    ],
    [
      'Transfer-Encoding gzip',
      'POST /gz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n',
      501,
      / web POST \/gz 501 - - [\d.]+ms GW_ERR_BAD_REQUEST$/,
    ],
    [
      'garbage request line',
      '\x16\x03\x01 hello\r\n\r\n',
      400,
      / web - - 400 - - [\d.]+ms GW_ERR_BAD_REQUEST$/,
    ],
    [
      'head over maxHeaderBytes',
      `GET /big HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(2048)}\r\n\r\n`,
      431,
      / web GET \/big 431 - - [\d.]+ms GW_ERR_HEADERS_TOO_LARGE$/,
    ],
    [
      'bad chunk size',
      'POST /chunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      400,
      / web POST \/chunk 400 t 127\.0\.0\.1:\d+ [\d.]+ms GW_ERR_BAD_REQUEST$/,
    ],
  ];

  it('logs each smuggling vector once, with its status and GW_ERR_* code', BOUND, async () => {
    const { gw, target } = await rig(['limits: { maxHeaderBytes: 1024 }']);
    for (const [name, bytes, status, line] of vectors) {
      const before = gw.log.length;
      const answer = await exchange(gw, bytes);
      assert.equal(statusOf(answer), status, name);
      assert.ok(await eventually(() => gw.log.length > before), `${name}: no log line`);
      await sleep(20);
      const lines = gw.log.slice(before);
      assert.equal(lines.length, 1, `${name}: ${lines.join(' | ')}`);
      assert.match(lines[0] ?? '', line, name);
    }
    // Only the bad chunk reached the target (its head was fine); nothing else did.
    assert.equal(target.requests, 0);
  });

  it('logs a slowloris head cut at headerMs as 408 GW_ERR_CLIENT_TIMEOUT', BOUND, async () => {
    const { gw } = await rig(['timeouts: { headerMs: 300 }']);
    const answer = await exchange(gw, 'GET /slow HTTP/1.1\r\nHost: x\r\n');
    assert.equal(statusOf(answer), 408);
    assert.ok(await eventually(() => gw.log.length > 0));
    assert.match(gw.log[0] ?? '', / web GET \/slow 408 - - [\d.]+ms GW_ERR_CLIENT_TIMEOUT$/);
  });

  it(
    'logs at most 100 refused requests a second, then says how many it left out',
    BOUND,
    async () => {
      const { gw } = await rig();
      const count = 160;
      const clients = await Promise.all(Array.from({ length: count }, () => open(gw)));
      const began = Date.now();
      for (const client of clients) client.socket.write('GET / HTTP/1.1\nHost: x\r\n\r\n');
      assert.ok(await eventually(() => clients.every((c) => c.closed)));
      const spanMs = Date.now() - began;
      // The count of lines left out comes when their second is over.
      await sleep(1200);
      const refused = gw.log.filter((l) => l.endsWith('GW_ERR_BAD_REQUEST')).length;
      const suppressed = gw.log
        .map((l) => /^web: (\d+) refused-request log lines suppressed/.exec(l))
        .reduce((sum, m) => sum + (m === null ? 0 : Number(m[1])), 0);
      assert.equal(refused + suppressed, count, gw.log.slice(-3).join('\n'));
      assert.ok(
        refused <= 100 * (Math.ceil(spanMs / 1000) + 1),
        `${refused} lines in ${spanMs} ms`,
      );
      if (spanMs < 900)
        assert.ok(suppressed >= count - 200 && suppressed > 0, `${suppressed} left out`);
    },
  );
});

describe('issue 13: slow request bodies', () => {
  const post = (length: number): string =>
    `POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n`;

  it(
    'a body that goes silent longer than bodyMs gets 408, a log line, and its target connection closed',
    BOUND,
    async () => {
      // Streaming (no buffering), so that a target connection is open while the body is read.
      const { gw, target } = await rig([
        'timeouts: { bodyMs: 300 }',
        'limits: { bufferBodyBytes: 0 }',
      ]);
      const client = await open(gw);
      client.socket.write(`${post(100)}a`);
      assert.ok(await eventually(() => client.closed, 8000), 'closed after bodyMs');
      assert.equal(statusOf(client.text), 408);
      assert.match(client.text, /x-gw-error: GW_ERR_CLIENT_TIMEOUT/);
      // The request to the target was aborted: its connection is gone.
      assert.equal(target.connections, 1);
      assert.ok(await eventually(() => target.closed === 1), 'target connection released');
      assert.ok(await eventually(() => gw.log.length === 1));
      assert.match(gw.log[0] ?? '', / web POST \/up 408 t .* GW_ERR_CLIENT_TIMEOUT$/);
    },
  );

  it(
    'a body that keeps coming within bodyMs per byte passes when no minimum rate is set',
    BOUND,
    async () => {
      const { gw, target } = await rig(['timeouts: { bodyMs: 400, bodyMinBytesPerSecond: 0 }']);
      const client = await open(gw);
      client.socket.write(post(6));
      for (const c of 'abcdef') {
        await sleep(100);
        client.socket.write(c);
      }
      assert.ok(await eventually(() => client.text.endsWith('ok')), client.text);
      assert.equal(statusOf(client.text), 200);
      assert.equal(target.requests, 1);
    },
  );

  it(
    'a body trickled below bodyMinBytesPerSecond (never silent for bodyMs) gets 408 and its target connection closed',
    BOUND,
    async () => {
      const { gw, target } = await rig(['timeouts: { bodyMs: 300, bodyMinBytesPerSecond: 10 }']);
      const client = await open(gw);
      client.socket.write(post(100));
      // 4 bytes a second, a byte every 250 ms: the silence timer alone would never fire.
      const stillOpen = (): boolean => !client.closed;
      for (let i = 0; i < 40 && stillOpen(); i++) {
        await sleep(250);
        if (stillOpen()) client.socket.write('x');
      }
      assert.ok(client.closed, 'cut');
      assert.equal(statusOf(client.text), 408);
      assert.match(client.text, /x-gw-error: GW_ERR_CLIENT_TIMEOUT/);
      assert.ok(await eventually(() => target.closed === target.connections));
      assert.ok(await eventually(() => gw.log.length === 1));
      assert.match(gw.log[0] ?? '', / web POST \/up 408 t .* GW_ERR_CLIENT_TIMEOUT$/);
    },
  );

  it(
    'with bufferBodyBytes, trickling clients hold no target connection until their body is complete',
    BOUND,
    async () => {
      const { gw, target } = await rig(['limits: { bufferBodyBytes: 1024 }']);
      const clients = await Promise.all(Array.from({ length: 20 }, () => open(gw)));
      for (const client of clients) client.socket.write(post(5));
      for (const c of 'hello') {
        await sleep(60);
        // Before the fix each of them already had its own upstream connection here.
        assert.equal(target.connections, 0, `while trickling ${c}`);
        for (const client of clients) client.socket.write(c);
      }
      assert.ok(await eventually(() => clients.every((client) => client.text.endsWith('ok'))));
      assert.equal(target.requests, 20);
      assert.ok(target.received.every((text) => text.includes('\r\n\r\nhello')));
      // A body over bufferBodyBytes still streams (the target sees its head at once).
      const big = await open(gw);
      big.socket.write(post(4096));
      assert.ok(await eventually(() => target.received.some((t) => t.includes('4096'))));
    },
  );
});

describe('issue 13: smaller request defects', () => {
  it(
    'refuses userinfo in an absolute-form target and an empty Host (400), forwarding nothing',
    BOUND,
    async () => {
      const { gw, target } = await rig();
      for (const bytes of [
        'GET http://admin@gw.test/x HTTP/1.1\r\nHost: gw.test\r\n\r\n',
        'GET http://u:p@gw.test/ HTTP/1.1\r\nHost: gw.test\r\n\r\n',
        'GET / HTTP/1.1\r\nHost:\r\n\r\n',
      ]) {
        const answer = await exchange(gw, bytes);
        assert.equal(statusOf(answer), 400, bytes);
        assert.match(answer, /x-gw-error: GW_ERR_BAD_REQUEST/);
      }
      assert.equal(target.connections, 0);
    },
  );

  it(
    'drops framing and routing fields from request trailers (RFC 9110 §6.5.1)',
    BOUND,
    async () => {
      const { gw, target } = await rig();
      const client = await open(gw);
      client.socket.write(
        'POST /t HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n' +
          '5\r\nhello\r\n0\r\nContent-Length: 5\r\nHost: evil.test\r\nTransfer-Encoding: chunked\r\nX-Sum: 1\r\n\r\n',
      );
      assert.ok(await eventually(() => client.text.endsWith('ok')), client.text);
      const sent = target.received[0] ?? '';
      const trailer = sent.slice(sent.indexOf('\r\n0\r\n') + 5);
      assert.equal(trailer, 'X-Sum: 1\r\n\r\n');
    },
  );

  it('drops framing fields from response trailers too', BOUND, async () => {
    const peer = await startPeer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () =>
        socket.write(
          'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n' +
            'Content-Length: 3\r\nConnection: close\r\nX-Sum: 1\r\n\r\n',
        ),
      );
    });
    try {
      const gw = await startTestGateway(`
listeners:
  - { name: web, protocol: http, listen: 127.0.0.1:0, routes: [{ match: { pathPrefix: / }, upstream: t }] }
upstreams:
  - { name: t, targets: ["127.0.0.1:${peer.port}"] }
`);
      live.gateways.push(gw);
      const client = await open(gw);
      client.socket.write('GET / HTTP/1.1\r\nHost: gw.test\r\n\r\n');
      assert.ok(await eventually(() => /\r\n0\r\n(.*\r\n)*\r\n$/.test(client.text)), client.text);
      assert.ok(client.text.endsWith('2\r\nok\r\n0\r\nX-Sum: 1\r\n\r\n'), client.text);
    } finally {
      peer.close();
    }
  });

  it(
    'drops header fields named with _ by default, passes them with underscoreHeaders: pass',
    BOUND,
    async () => {
      const request =
        'GET / HTTP/1.1\r\nHost: gw.test\r\nX_Forwarded_For: 6.6.6.6\r\nX_Other: 1\r\n\r\n';
      const dropping = await rig();
      const a = await open(dropping.gw);
      a.socket.write(request);
      assert.ok(await eventually(() => a.text.endsWith('ok')));
      assert.doesNotMatch(dropping.target.received[0] ?? '', /X_Forwarded_For|X_Other/);
      assert.match(dropping.target.received[0] ?? '', /x-forwarded-for: 127\.0\.0\.1\r\n/);

      const passing = await rig(['underscoreHeaders: pass']);
      const b = await open(passing.gw);
      b.socket.write(request);
      assert.ok(await eventually(() => b.text.endsWith('ok')));
      assert.match(passing.target.received[0] ?? '', /X_Other: 1\r\n/);

      const refusing = await rig(['underscoreHeaders: refuse']);
      assert.equal(statusOf(await exchange(refusing.gw, request)), 400);
      assert.equal(refusing.target.connections, 0);
    },
  );
});

describe('issue 13: TLS handshakes are timed', () => {
  it('closes a connection that never starts its TLS handshake within headerMs', BOUND, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gw-http-attack-'));
    const { cert, key } = makeCert(dir, 'web');
    const gw = await startTestGateway(`
listeners:
  - name: web
    protocol: http
    listen: 127.0.0.1:0
    tls: { cert: ${JSON.stringify(cert)}, key: ${JSON.stringify(key)} }
    timeouts: { headerMs: 300 }
    routes: [{ match: { pathPrefix: / }, upstream: t }]
upstreams:
  - { name: t, targets: ["127.0.0.1:1"] }
`);
    live.gateways.push(gw);
    try {
      const silent = await connect(gw.port('web'));
      let closed = false;
      silent.on('error', () => undefined);
      silent.once('close', () => (closed = true));
      // Node's own handshake timeout is 120 s; the listener's headerMs applies instead.
      assert.ok(await eventually(() => closed, 8000), 'silent TLS connection closed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
