import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { RunningBackend } from '../../src/backend/backend-options.js';
import { CHUNK_BYTES, patternByte } from '../../src/backend/byte-stream.js';
import { startHttpBackend, type HttpEcho } from '../../src/backend/http-backend.js';
import { isGwError } from '../../src/shared/errors.js';
import { curl, parseResponse } from '../helpers/curl.js';

const started: RunningBackend[] = [];
after(async () => {
  await Promise.all(started.map((b) => b.close()));
});

async function backend(options: Parameters<typeof startHttpBackend>[0]): Promise<string> {
  const b = await startHttpBackend(options);
  started.push(b);
  return `http://127.0.0.1:${b.port}`;
}

/** `curl -i ARGS URL`, parsed. */
async function get(url: string, args: readonly string[] = []) {
  const result = await curl(['-i', ...args, url]);
  assert.equal(result.code, 0, result.stderr);
  return parseResponse(result.stdout);
}

function json(body: Buffer): unknown {
  return JSON.parse(body.toString('utf8'));
}

describe('HTTP backend', () => {
  let base = '';
  before(async () => {
    base = await backend({ port: 0, name: 'alpha' });
  });

  it('answers with x-backend and a JSON description of the request it received', async () => {
    const { status, headers, body } = await get(`${base}/api/items?x=1&y=two`, [
      '-H',
      'X-Forwarded-For: 10.0.0.1',
      '-H',
      'Connection: keep-alive',
    ]);
    assert.equal(status, 200);
    assert.equal(headers['x-backend'], 'alpha');
    assert.match(headers['content-type'] ?? '', /application\/json/);
    const echo = json(body) as HttpEcho;
    assert.equal(echo.backend, 'alpha');
    assert.equal(echo.method, 'GET');
    assert.equal(echo.path, '/api/items');
    assert.equal(echo.url, '/api/items?x=1&y=two');
    assert.deepEqual(echo.query, { x: '1', y: 'two' });
    assert.equal(echo.headers['x-forwarded-for'], '10.0.0.1');
    assert.equal(echo.headers.connection, 'keep-alive');
    assert.equal(echo.bodyBytes, 0);
  });

  it('names itself backend-<port> when no name is given', async () => {
    const b = await startHttpBackend({ port: 0 });
    started.push(b);
    assert.equal(b.name, `backend-${b.port}`);
    const { headers } = await get(`http://127.0.0.1:${b.port}/`);
    assert.equal(headers['x-backend'], `backend-${b.port}`);
  });

  it('answers the status asked for with ?status=', async () => {
    const { status, headers, body } = await get(`${base}/x?status=503`);
    assert.equal(status, 503);
    assert.equal(headers['x-backend'], 'alpha');
    assert.equal((json(body) as HttpEcho).path, '/x');
  });

  it('answers 400 to a malformed ?status= and keeps serving', async () => {
    assert.equal((await get(`${base}/x?status=abc`)).status, 400);
    assert.equal((await get(`${base}/x?status=99`)).status, 400);
    assert.equal((await get(`${base}/x`)).status, 200);
  });

  it('answers 400, not 500, to a request target that is no path', async () => {
    const { port } = new URL(base);
    const socket = net.connect(Number(port), '127.0.0.1');
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('close', () => resolve(text));
    });
    socket.end('GET http://[x/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    const text = await answer;
    assert.match(text, /^HTTP\/1\.1 400 /);
    assert.match(text, /is not a path/);
  });

  it('streams a 5 MiB ?bytes= body with the exact length and pattern', async () => {
    const size = 5 * 1024 * 1024 + 7;
    const result = await curl([`${base}/big?bytes=${size}`]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.length, size);
    for (const offset of [0, 1, 63, 64, CHUNK_BYTES - 1, CHUNK_BYTES, size - 1]) {
      assert.equal(result.stdout[offset], patternByte(offset), `byte ${offset}`);
    }
  });

  it('announces the ?bytes= length in Content-Length and sends no body to HEAD', async () => {
    const { status, headers, body } = await get(`${base}/big?bytes=1000`, ['-I']);
    assert.equal(status, 200);
    assert.equal(headers['content-length'], '1000');
    assert.equal(body.length, 0);
  });

  it('counts a POST body while streaming it and reports bodyBytes', async () => {
    const upload = Buffer.alloc(3 * 1024 * 1024 + 5, 'z');
    const result = await curl(['-i', '--data-binary', '@-', `${base}/upload`], upload);
    const { status, body } = parseResponse(result.stdout);
    assert.equal(status, 200);
    const echo = json(body) as HttpEcho;
    assert.equal(echo.method, 'POST');
    assert.equal(echo.bodyBytes, upload.length);
  });

  it('streams a PUT body back with ?echo=1', async () => {
    const upload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 256));
    const result = await curl(['-X', 'PUT', '--data-binary', '@-', `${base}/e?echo=1`], upload);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.equals(upload), 'echoed body differs');
  });

  it('answers Expect: 100-continue with 100 Continue before the body is sent', async () => {
    const result = await curl(
      ['-v', '-H', 'Expect: 100-continue', '--data-binary', '@-', `${base}/upload`],
      Buffer.alloc(2048, 'a'),
    );
    assert.match(result.stderr, /HTTP\/1\.1 100 Continue/);
    assert.equal((json(result.stdout) as HttpEcho).bodyBytes, 2048);
  });

  it('sends a chunked response with the trailer x-trailer: yes for ?trailers=1', async () => {
    const raw = await curl(['--raw', `${base}/t?trailers=1`]);
    assert.match(raw.stdout.toString('latin1'), /\r\n0\r\nx-trailer: yes\r\n\r\n$/);
    const res = await request(`${base}/t?trailers=1&bytes=100000`);
    assert.equal(res.headers['transfer-encoding'], 'chunked');
    assert.equal((await res.body.arrayBuffer()).byteLength, 100_000);
    assert.equal(res.trailers['x-trailer'], 'yes');
  });

  it('closes the connection after answering with ?close=1', async () => {
    const port = Number(new URL(base).port);
    const socket = net.connect(port, '127.0.0.1');
    socket.write('GET /c?close=1 HTTP/1.1\r\nHost: test\r\n\r\n');
    let text = '';
    socket.setEncoding('latin1').on('data', (d: string) => (text += d));
    await new Promise((resolve) => socket.once('close', resolve));
    assert.match(text, /^HTTP\/1\.1 200 OK/);
    assert.match(text, /connection: close/i);
  });

  it('delays the answer by ?delayMs= and still answers', async () => {
    const { status } = await get(`${base}/slow?delayMs=30`);
    assert.equal(status, 200);
  });

  it('answers GET /healthz with ok', async () => {
    const { status, headers, body } = await get(`${base}/healthz`);
    assert.equal(status, 200);
    assert.equal(headers['x-backend'], 'alpha');
    assert.equal(body.toString(), 'ok');
  });
});

describe('HTTP backend failure injection', () => {
  it('answers 500 with the injected-failure body at fail-rate 1, but /healthz stays ok', async () => {
    const base = await backend({ port: 0, name: 'broken', failRate: 1 });
    const { status, headers, body } = await get(`${base}/anything`);
    assert.equal(status, 500);
    assert.equal(headers['x-backend'], 'broken');
    assert.deepEqual(json(body), { backend: 'broken', error: 'injected failure' });
    assert.equal((await get(`${base}/healthz`)).status, 200);
  });

  it('never fails at fail-rate 0', async () => {
    const base = await backend({ port: 0, failRate: 0, random: () => 0 });
    for (let i = 0; i < 30; i++) {
      const res = await request(`${base}/n${i}`);
      await res.body.dump();
      assert.equal(res.statusCode, 200);
    }
  });

  it('fails exactly the draws below the rate', async () => {
    const draws = [0.1, 0.9, 0.29, 0.3];
    const base = await backend({ port: 0, failRate: 0.3, random: () => draws.shift() ?? 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await request(`${base}/r`);
      await res.body.dump();
      statuses.push(res.statusCode);
    }
    assert.deepEqual(statuses, [500, 200, 500, 200]);
  });

  it('delays every answer by latencyMs and still answers', async () => {
    const base = await backend({ port: 0, latencyMs: 20 });
    assert.equal((await get(`${base}/x`)).status, 200);
  });
});

describe('HTTP backend start-up', () => {
  it('refuses a taken port with GW_ERR_PORT_IN_USE', async () => {
    const b = await startHttpBackend({ port: 0 });
    started.push(b);
    await assert.rejects(startHttpBackend({ port: b.port }), (err) =>
      isGwError(err, 'GW_ERR_PORT_IN_USE'),
    );
  });

  it('refuses a fail rate outside 0..1 and a negative latency before listening', async () => {
    await assert.rejects(startHttpBackend({ port: 0, failRate: 1.5 }), (err) =>
      isGwError(err, 'GW_ERR_INVALID_ARGUMENT'),
    );
    await assert.rejects(startHttpBackend({ port: 0, latencyMs: -1 }), (err) =>
      isGwError(err, 'GW_ERR_INVALID_ARGUMENT'),
    );
  });
});
