import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { FLAG, FRAME, H2_ERROR, SETTING } from '../../../src/proxy/h2/frames.js';
import { relayQueuedBytes } from '../../../src/proxy/upstream/forward-grpc.js';
import { bareCall, bareTarget, type BareTarget } from '../../helpers/h2-bare.js';
import { rawH2Client } from '../../helpers/h2-raw.js';
import { gatewayTo, type TestGateway } from '../../helpers/proxy.js';
import { sleep, until } from '../../helpers/wait.js';

// A hostile HTTP/2 client against the gRPC listener, through real sockets: malformed requests
// are never forwarded (RFC 9113 §8.1.1), the gateway's memory per client connection is bounded
// when a client or target reads nothing, and every refusal leaves an access-log line.

/** Answers a call with a short message and status 0. */
function answerShort(stream: http2.ServerHttp2Stream): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(Buffer.from([0, 0, 0, 0, 2, 0x0a, 0]));
  stream.resume();
}

const POST = [':method', 'POST', ':scheme', 'http', ':path', '/t.T/Unary', ':authority', 'gw.test'];
const BODY = [':method', 'POST', ':scheme', 'http', ':path', '/t.T/Body'];
const GRPC = ['content-type', 'application/grpc', 'te', 'trailers'];

describe('gw proxy grpc: malformed requests are refused, never forwarded', () => {
  let target: BareTarget;
  let gw: TestGateway;

  before(async () => {
    target = await bareTarget(answerShort);
    gw = await gatewayTo('grpc', [target.port]);
  });
  after(async () => {
    await gw.close();
    await target.close();
  });

  // The vectors the target received before the fix (issue 13, defect 6), and a few more.
  const vectors: [string, string[]][] = [
    ['CRLF in a value', [...POST, ...GRPC, 'x-crlf', 'a\r\nx-injected: 1']],
    ['NUL in a value', [...POST, ...GRPC, 'x-nul', 'a\0b']],
    ['an upper-case field name', [...POST, ...GRPC, 'X-Upper', '1']],
    ['te: gzip', [...POST, 'content-type', 'application/grpc', 'te', 'gzip']],
    ['host beside a different :authority', [...POST, ...GRPC, 'host', 'evil.test']],
    ['a duplicated :path', [...POST, ':path', '/b', ...GRPC]],
    ['transfer-encoding', [...POST, ...GRPC, 'transfer-encoding', 'chunked']],
    ['a pseudo-header after a regular field', [...POST, ...GRPC, ':path', '/b']],
    ['no :scheme', [':method', 'POST', ':path', '/t.T/Unary', ...GRPC]],
  ];

  for (const [what, fields] of vectors) {
    it(`resets ${what} with PROTOCOL_ERROR and forwards nothing`, { timeout: 10_000 }, async () => {
      const before = target.streams.length;
      const client = await rawH2Client(gw.port('rpc'));
      try {
        client.send((b) => {
          b.headers(1, client.encoder.encode(fields), false, 16_384);
          b.frame(FRAME.DATA, FLAG.END_STREAM, 1, Buffer.from([0, 0, 0, 0, 0]));
        });
        await until(() => client.frames.some((f) => f.type === FRAME.RST_STREAM));
        const rst = client.frames.find((f) => f.type === FRAME.RST_STREAM);
        assert.equal(rst?.streamId, 1);
        assert.equal(rst.payload.readUInt32BE(0), H2_ERROR.PROTOCOL_ERROR);
        assert.ok(!client.frames.some((f) => f.type === FRAME.GOAWAY), 'the connection lives on');
        // A well-formed call afterwards goes through: the target got that one, and only that one.
        assert.equal(await bareCall(gw.port('rpc')), '0');
        assert.deepEqual(target.streams.slice(before), ['/t.T/Unary']);
      } finally {
        client.socket.destroy();
      }
    });
  }

  it(
    'resets content-length: 5 on a request that ends with its HEADERS',
    { timeout: 10_000 },
    async () => {
      const before = target.streams.length;
      const client = await rawH2Client(gw.port('rpc'));
      try {
        client.send((b) =>
          b.headers(
            1,
            client.encoder.encode([...POST, ...GRPC, 'content-length', '5']),
            true,
            16_384,
          ),
        );
        await until(() => client.frames.some((f) => f.type === FRAME.RST_STREAM));
        const rst = client.frames.find((f) => f.type === FRAME.RST_STREAM);
        assert.equal(rst?.payload.readUInt32BE(0), H2_ERROR.PROTOCOL_ERROR);
        await sleep(100);
        assert.equal(target.streams.length, before);
      } finally {
        client.socket.destroy();
      }
    },
  );

  it(
    'answers a GET with 405 and grpc-status 12, and forwards nothing',
    { timeout: 10_000 },
    async () => {
      const before = target.streams.length;
      const client = await rawH2Client(gw.port('rpc'));
      try {
        const get = [':method', 'GET', ':scheme', 'http', ':path', '/t.T/Unary', ...GRPC];
        client.send((b) => b.headers(1, client.encoder.encode(get), true, 16_384));
        await until(() => client.frames.some((f) => f.type === FRAME.HEADERS));
        const answer = client.frames.find((f) => f.type === FRAME.HEADERS);
        assert.ok(answer);
        assert.equal(answer.flags & FLAG.END_STREAM, FLAG.END_STREAM, 'trailers-only');
        const text = answer.payload.toString('latin1');
        assert.match(text, /GW_ERR_BAD_REQUEST/);
        await sleep(100);
        assert.equal(target.streams.length, before);
        // Decoded by a real client: HTTP 405 with grpc-status 12.
        const seen = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
          const session = http2.connect(`http://127.0.0.1:${gw.port('rpc')}`);
          session.on('error', reject);
          const req = session.request({ ':method': 'GET', ':path': '/t.T/Unary' });
          req.on('response', (h) => {
            resolve(h);
            session.close();
          });
          req.on('error', reject);
          req.end();
        });
        assert.equal(seen[':status'], 405);
        assert.equal(seen['grpc-status'], '12');
        assert.equal(seen.allow, 'POST');
        assert.equal(target.streams.length, before);
      } finally {
        client.socket.destroy();
      }
    },
  );

  it(
    'resets a body longer or shorter than its content-length, at the target too',
    { timeout: 10_000 },
    async () => {
      const client = await rawH2Client(gw.port('rpc'));
      try {
        client.send((b) => {
          // Stream 1 declares 5 and sends 8; stream 3 declares 5 and ends after 3.
          b.headers(
            1,
            client.encoder.encode([...BODY, ...GRPC, 'content-length', '5']),
            false,
            16_384,
          );
          b.frame(FRAME.DATA, 0, 1, Buffer.alloc(8));
          b.headers(
            3,
            client.encoder.encode([...BODY, ...GRPC, 'content-length', '5']),
            false,
            16_384,
          );
          b.frame(FRAME.DATA, FLAG.END_STREAM, 3, Buffer.alloc(3));
        });
        await until(() => client.frames.filter((f) => f.type === FRAME.RST_STREAM).length === 2);
        for (const rst of client.frames.filter((f) => f.type === FRAME.RST_STREAM)) {
          assert.equal(rst.payload.readUInt32BE(0), H2_ERROR.PROTOCOL_ERROR);
        }
        // The target never saw either request whole.
        await sleep(200);
        assert.ok(!target.ended.includes('/t.T/Body'), target.ended.join());
        // One access line per call, with the gateway's code.
        await until(() => gw.log.filter((l) => l.includes(' /t.T/Body ')).length === 2);
        for (const line of gw.log.filter((l) => l.includes(' /t.T/Body '))) {
          assert.match(line, / POST \/t\.T\/Body 13 .* GW_ERR_BAD_REQUEST/);
        }
      } finally {
        client.socket.destroy();
      }
    },
  );

  it('resets client trailers that carry a pseudo-header', { timeout: 10_000 }, async () => {
    const client = await rawH2Client(gw.port('rpc'));
    try {
      client.send((b) => {
        b.headers(1, client.encoder.encode([...POST, ...GRPC]), false, 16_384);
        b.frame(FRAME.DATA, 0, 1, Buffer.from([0, 0, 0, 0, 0]));
        b.headers(1, client.encoder.encode([':path', '/admin']), true, 16_384);
      });
      await until(() => client.frames.some((f) => f.type === FRAME.RST_STREAM));
      const rst = client.frames.find((f) => f.type === FRAME.RST_STREAM);
      assert.equal(rst?.payload.readUInt32BE(0), H2_ERROR.PROTOCOL_ERROR);
    } finally {
      client.socket.destroy();
    }
  });

  it(
    'logs each refusal with GW_ERR_BAD_REQUEST, at most 100 lines a second, then a summary',
    { timeout: 10_000 },
    async () => {
      await sleep(1100); // a fresh one-second window of the listener's refusal log
      const from = gw.log.length;
      // 120 malformed requests over 20 connections (well below any reset budget per connection).
      const clients = await Promise.all(
        Array.from({ length: 20 }, () => rawH2Client(gw.port('rpc'))),
      );
      try {
        for (const client of clients) {
          client.send((b) => {
            for (let i = 0; i < 6; i++) {
              const fields = [...POST, ...GRPC, 'x-crlf', `a\r\nb${i}`];
              b.headers(2 * i + 1, client.encoder.encode(fields), true, 16_384);
            }
          });
        }
        await until(() =>
          clients.every((c) => c.frames.filter((f) => f.type === FRAME.RST_STREAM).length === 6),
        );
        await until(
          () => gw.log.slice(from).some((l) => l.includes('refused-request log lines suppressed')),
          3000,
        );
        const lines = gw.log.slice(from);
        const refused = lines.filter((l) => l.includes('GW_ERR_BAD_REQUEST'));
        assert.equal(refused.length, 100);
        assert.match(
          refused[0] ?? '',
          /^127\.0\.0\.1 rpc grpc POST \/t\.T\/Unary 13 - - [\d.]+ms GW_ERR_BAD_REQUEST \(NUL, CR or LF in a field value\)$/,
        );
        assert.ok(
          lines.every((l) => !/[\r\n\0]/.test(l)),
          'no client bytes break a line',
        );
        assert.ok(
          lines.includes('rpc: 20 refused-request log lines suppressed (over 100/s)'),
          lines.join('\n'),
        );
      } finally {
        for (const c of clients) c.socket.destroy();
      }
    },
  );
});

/** Polls `read` until its value has not changed for 300 ms (and is above 0), or `ms` passed. */
async function steady(read: () => number, ms = 5000): Promise<number> {
  const end = Date.now() + ms;
  let last = -1;
  let since = Date.now();
  while (Date.now() < end) {
    const value = read();
    if (value !== last) {
      last = value;
      since = Date.now();
    } else if (value > 0 && Date.now() - since >= 300) {
      return value;
    }
    await sleep(20);
  }
  return last;
}

const KiB = 1024;
const MiB = 1024 * 1024;

describe('gw proxy grpc: memory per client connection is bounded', () => {
  it(
    'a client with stream windows of 0 and 128 server-streaming calls: at most 128 × 16 KiB + 2 MiB held',
    { timeout: 20_000 },
    async () => {
      // Streams 1 MiB per call as fast as flow control lets it; answers /t.T/Unary at once.
      const target = await bareTarget((stream, headers) => {
        if (headers[':path'] === '/t.T/Unary') {
          answerShort(stream);
          return;
        }
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        const chunk = Buffer.alloc(16 * KiB, 0x61);
        let left = 64;
        const pump = (): void => {
          while (left > 0 && !stream.closed) {
            left--;
            if (!stream.write(chunk)) {
              stream.once('drain', pump);
              return;
            }
          }
          if (!stream.closed) stream.end();
        };
        pump();
      });
      const gw = await gatewayTo('grpc', [target.port]);
      const client = await rawH2Client(gw.port('rpc'), {
        settings: [[SETTING.INITIAL_WINDOW_SIZE, 0]],
      });
      try {
        const rssBefore = process.memoryUsage().rss;
        client.send((b) => {
          for (let i = 0; i < 128; i++) {
            const fields = [...POST.slice(0, 4), ':path', '/t.T/Stream', ...GRPC];
            b.headers(2 * i + 1, client.encoder.encode(fields), true, 16_384);
          }
        });
        const held = await steady(() => relayQueuedBytes().toClientsBytes);
        // Streams the gateway took (a lower stream limit may refuse some) ...
        const taken = 128 - client.frames.filter((f) => f.type === FRAME.RST_STREAM).length;
        assert.ok(taken >= 64, `the gateway took ${taken} of 128 streams`);
        // ... each filled its base window (the target really streamed) ...
        assert.ok(held >= taken * 16 * KiB, `held ${held}`);
        // ... and the first calls had their windows widened to 64 KiB (42 × 48 KiB in the budget).
        assert.ok(held >= taken * 16 * KiB + 42 * 48 * KiB, `held ${held}`);
        // ... and no more than base windows plus the connection's top-up budget (32 MiB before).
        assert.ok(held <= 128 * 16 * KiB + 2 * MiB, `held ${held} bytes for one client`);
        const rssGrowth = process.memoryUsage().rss - rssBefore;
        assert.ok(rssGrowth < 96 * MiB, `RSS grew ${rssGrowth} bytes (gateway and target)`);
        // Another client of the same target is still answered.
        assert.equal(await bareCall(gw.port('rpc')), '0');
      } finally {
        client.socket.destroy();
        await gw.close();
        await target.close();
      }
    },
  );

  it(
    'uploads to a target that opens no window: at most one 64 KiB window held per stream',
    { timeout: 20_000 },
    async () => {
      const target = await bareTarget(() => undefined, { settings: { initialWindowSize: 0 } });
      const gw = await gatewayTo('grpc', [target.port]);
      const client = await rawH2Client(gw.port('rpc'));
      try {
        await until(() => client.frames.some((f) => f.type === FRAME.SETTINGS && f.flags === 0));
        // Sends on each stream all the window the gateway advertises (256 KiB before the fix).
        const settings = client.frames.find((f) => f.type === FRAME.SETTINGS && f.flags === 0);
        let window = 65_535;
        for (let at = 0; settings && at + 6 <= settings.payload.length; at += 6) {
          if (settings.payload.readUInt16BE(at) === SETTING.INITIAL_WINDOW_SIZE) {
            window = settings.payload.readUInt32BE(at + 2);
          }
        }
        const streams = 48;
        for (let i = 0; i < streams; i++) {
          const id = 2 * i + 1;
          client.send((b) => {
            b.headers(id, client.encoder.encode([...BODY, ...GRPC]), false, 16_384);
            for (let sent = 0; sent < window; sent += 16 * KiB) {
              b.frame(FRAME.DATA, 0, id, Buffer.alloc(Math.min(16 * KiB, window - sent)));
            }
          });
        }
        const held = await steady(() => relayQueuedBytes().toTargetsBytes);
        assert.ok(held <= streams * 64 * KiB, `held ${held} bytes of uploads for one client`);
        // The client got no credit back for bytes the target has not taken.
        await sleep(100);
        assert.ok(!client.frames.some((f) => f.type === FRAME.WINDOW_UPDATE && f.streamId !== 0));
      } finally {
        client.socket.destroy();
        await gw.close();
        await target.close();
      }
    },
  );
});
