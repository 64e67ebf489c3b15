import assert from 'node:assert/strict';
import net, { type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import {
  H1ServerConnection,
  HOLD_BYTES,
  type H1Handler,
} from '../../../src/proxy/h1/server-connection.js';
import { connect, readBytes } from '../../helpers/sockets.js';

/**
 * A listener keeps its own 'close' listener on every socket (to forget the
 * connection). A connection that hands its socket over (a refused head, an
 * upgrade) must remove only its own listeners, or the listener's set of
 * connections grows with every such request.
 */
describe('H1ServerConnection hands its socket over cleanly', () => {
  const open = new Set<Socket>();
  let forgotten = 0;
  const handler: H1Handler = {
    request(conn) {
      conn.respond(200, 'OK', '', 'ok');
    },
    upgrade(socket) {
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
    },
    refuse(socket, error) {
      socket.end(`HTTP/1.1 ${error.status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    },
  };
  const options = {
    maxHeaderBytes: 8192,
    headerTimeoutMs: 1000,
    idleTimeoutMs: 5000,
    maxBodyBytes: 0,
    bodyTimeoutMs: 0,
    bodyMinBytesPerSecond: 0,
    head: { underscores: 'drop' as const },
  };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    open.add(socket);
    // Registered as the gateway's listener does: it must fire whatever the connection does.
    socket.once('close', () => {
      open.delete(socket);
      forgotten++;
    });
    new H1ServerConnection(socket, handler, options);
  });
  after(() => server.close());

  async function exchange(bytes: string): Promise<string> {
    if (!server.listening)
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as net.AddressInfo;
    const client = await connect(address.port);
    client.end(bytes);
    const reply = await readBytes(client, 12);
    client.destroy();
    return reply.toString('latin1');
  }

  it('after a refused head, the listener still hears the close', { timeout: 5000 }, async () => {
    const before = forgotten;
    for (let i = 0; i < 5; i++)
      assert.match(await exchange('GET / HTTP/1.1\nHost: x\r\n\r\n'), /^HTTP\/1\.1 400/);
    for (let t = 0; t < 50 && forgotten < before + 5; t++)
      await new Promise((r) => setTimeout(r, 20));
    assert.equal(forgotten, before + 5);
    assert.equal(open.size, 0);
  });

  it(
    'after an upgrade hand-over, the listener still hears the close',
    { timeout: 5000 },
    async () => {
      const before = forgotten;
      const upgrade =
        'GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n';
      for (let i = 0; i < 5; i++) assert.match(await exchange(upgrade), /^HTTP\/1\.1 400/);
      for (let t = 0; t < 50 && forgotten < before + 5; t++)
        await new Promise((r) => setTimeout(r, 20));
      assert.equal(forgotten, before + 5);
      assert.equal(open.size, 0);
    },
  );
});

/** A server whose connections answer each request a tick later (as a relay does), body = target. */
async function asyncServer(): Promise<{
  port: number;
  conns: H1ServerConnection[];
  maxBuffered: () => number;
  close: () => void;
}> {
  const conns: H1ServerConnection[] = [];
  let max = 0;
  const handler: H1Handler = {
    request(conn, head) {
      max = Math.max(max, conn.bufferedBytes);
      if (!head.chunked && head.contentLength <= 0) {
        setImmediate(() => {
          if (!conn.destroyed) conn.respond(200, 'OK', '', head.target);
        });
        return;
      }
      // A body is read (in its framing, as a relay passes it on), then answered with the target.
      const parts: Buffer[] = [];
      setImmediate(() =>
        conn.consumeBody({
          write: (chunk) => parts.push(Buffer.from(chunk)) < 4,
          finish: () =>
            setImmediate(() =>
              conn.respond(200, 'OK', '', `${head.target}:${Buffer.concat(parts).length}`),
            ),
          fail: () => conn.destroy(),
        }),
      );
      // A consumer that asks for pauses, then drains: reading must go on.
      const drain = setInterval(() => {
        if (conn.destroyed || parts.length > 1000) clearInterval(drain);
        conn.resumeBody();
      }, 5);
      drain.unref();
    },
    upgrade(socket) {
      socket.destroy();
    },
    refuse(socket, error) {
      socket.end(`HTTP/1.1 ${error.status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    },
  };
  const server = net.createServer((socket) => {
    conns.push(
      new H1ServerConnection(socket, handler, {
        maxHeaderBytes: 8192,
        headerTimeoutMs: 5000,
        idleTimeoutMs: 5000,
        maxBodyBytes: 0,
        bodyTimeoutMs: 0,
        bodyMinBytesPerSecond: 0,
        head: { underscores: 'drop' },
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    conns,
    maxBuffered: () => {
      for (const conn of conns) max = Math.max(max, conn.bufferedBytes);
      return max;
    },
    close: () => {
      for (const conn of conns) conn.destroy();
      server.close();
    },
  };
}

/** Counts `HTTP/1.1 200` answers in what a socket receives. */
function countAnswers(socket: Socket): { count: () => number; text: () => string } {
  let text = '';
  let count = 0;
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    // Keep only a tail long enough to hold a split status line.
    let at = text.indexOf('HTTP/1.1 200');
    while (at >= 0) {
      count++;
      text = text.slice(at + 12);
      at = text.indexOf('HTTP/1.1 200');
    }
    if (text.length > 64) text = text.slice(-64);
  });
  return { count: () => count, text: () => text };
}

describe('H1ServerConnection bounds the pipelined backlog (issue 13 defect 4)', () => {
  it(
    'a client pipelining as fast as it can while reading never has more than ~HOLD_BYTES held',
    { timeout: 15_000 },
    async () => {
      const srv = await asyncServer();
      try {
        const client = await connect(srv.port);
        client.on('error', () => undefined);
        const answers = countAnswers(client);
        const one = 'GET /p HTTP/1.1\r\nHost: x\r\n\r\n';
        const batch = one.repeat(Math.ceil((64 * 1024) / one.length));
        const until = Date.now() + 1500;
        let written = 0;
        while (Date.now() < until) {
          written += batch.length / one.length;
          if (!client.write(batch))
            await Promise.race([
              new Promise((r) => client.once('drain', r)),
              new Promise((r) => setTimeout(r, 100)),
            ]);
        }
        const max = srv.maxBuffered();
        // The hold limit plus what one more read may bring; before the fix it grew without end.
        assert.ok(max <= HOLD_BYTES + 2 * 64 * 1024, `held ${max} bytes`);
        assert.ok(answers.count() > 0);
        // The backlog is answered in full, in order, once the client stops writing.
        for (let t = 0; t < 400 && answers.count() < written; t++)
          await new Promise((r) => setTimeout(r, 25));
        assert.equal(answers.count(), written);
        client.destroy();
      } finally {
        srv.close();
      }
    },
  );

  it(
    'pipelined heads cut into 1-9 byte segments at arbitrary points are all answered, in order',
    { timeout: 15_000 },
    async () => {
      const srv = await asyncServer();
      try {
        const client = await connect(srv.port);
        client.setNoDelay(true);
        let all = '';
        client.on('data', (chunk: Buffer) => (all += chunk.toString('latin1')));
        const paths = Array.from({ length: 60 }, (_, i) => `/r${i}?${'q'.repeat(i % 17)}`);
        // GETs, Content-Length POSTs and chunked POSTs (answered with the body's framed length).
        const requests = paths.map((p, i) => {
          const lead = i % 3 === 0 ? '\r\n' : '';
          const fields = `Host: x\r\nX-N: ${'v'.repeat(i)}\r\n`;
          if (i % 4 === 1)
            return [
              `${lead}POST ${p} HTTP/1.1\r\n${fields}Content-Length: ${i}\r\n\r\n${'b'.repeat(i)}`,
              `${p}:${i}`,
            ];
          if (i % 4 === 3) {
            const chunked = `${i.toString(16)}\r\n${'c'.repeat(i)}\r\n0\r\n\r\n`;
            return [
              `${lead}POST ${p} HTTP/1.1\r\n${fields}Transfer-Encoding: chunked\r\n\r\n${chunked}`,
              `${p}:${chunked.length}`,
            ];
          }
          return [`${lead}GET ${p} HTTP/1.1\r\n${fields}\r\n`, p];
        });
        const wire = requests.map(([bytes]) => bytes).join('');
        const expected = requests.map(([, answer]) => answer);
        // A fixed pseudo-random cut (xorshift), so a failure is reproducible.
        let seed = 0x9e3779b9;
        const rand = (n: number): number => {
          seed ^= seed << 13;
          seed ^= seed >>> 17;
          seed ^= seed << 5;
          return (seed >>> 0) % n;
        };
        for (let at = 0; at < wire.length;) {
          const size = 1 + rand(9);
          client.write(wire.slice(at, at + size), 'latin1');
          at += size;
          if (rand(4) === 0) await new Promise((r) => setImmediate(r));
        }
        for (let t = 0; t < 200 && (all.match(/HTTP\/1\.1 200/g) ?? []).length < paths.length; t++)
          await new Promise((r) => setTimeout(r, 25));
        const bodies = all
          .split('HTTP/1.1 200 OK\r\n')
          .slice(1)
          .map((answer) => answer.slice(answer.indexOf('\r\n\r\n') + 4));
        assert.deepEqual(bodies, expected);
        client.destroy();
      } finally {
        srv.close();
      }
    },
  );
});
