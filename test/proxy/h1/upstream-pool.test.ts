import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type net from 'node:net';
import { after, describe, it } from 'node:test';
import { H1Pool, type ResponseHandler } from '../../../src/proxy/h1/upstream-pool.js';
import { startPeer } from '../../helpers/sockets.js';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/**
 * The pool reads plain-TCP targets into one reused buffer. The handler's
 * views of a read stay valid for as long as it says it has not flushed them
 * (`flushed()` false): the next read must then go to a new buffer.
 */
describe('H1Pool read buffers', () => {
  const data = randomBytes(2 << 20);
  const peers: { close: () => void }[] = [];
  after(() => {
    for (const peer of peers) peer.close();
  });

  /** A target that writes the body in 4 KiB pieces, each likely its own read at the pool. */
  async function target(): Promise<number> {
    const peer = await startPeer((socket: net.Socket) => {
      socket.once('data', () => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`);
        let at = 0;
        const more = (): void => {
          for (let n = 0; n < 4 && at < data.length; n++, at += 4096)
            socket.write(data.subarray(at, at + 4096));
          if (at < data.length) setImmediate(more);
        };
        more();
      });
    });
    peers.push(peer);
    return peer.port;
  }

  function fetchViews(port: number, flushed: boolean): Promise<Buffer[]> {
    const pool = new H1Pool({
      host: '127.0.0.1',
      port,
      tls: false,
      connectMs: 2000,
      headerMs: 2000,
      idleMs: 2000,
      keepAliveMs: 1000,
    });
    return new Promise((resolve, reject) => {
      const views: Buffer[] = [];
      const handler: ResponseHandler = {
        head: () => false,
        data(chunk) {
          views.push(chunk); // kept as given: no copy
          return true;
        },
        end() {
          void pool.close();
          resolve(views);
        },
        error: reject,
        flush: () => undefined,
        flushed: () => flushed,
        bodyDrained: () => undefined,
      };
      pool.request('GET / HTTP/1.1\r\nhost: t\r\n\r\n', false, false, true, handler);
    });
  }

  it('keeps the views of a handler that has not flushed intact', { timeout: 10_000 }, async () => {
    const views = await fetchViews(await target(), false);
    assert.ok(views.length > 4, `only ${views.length} reads`);
    assert.equal(sha256(Buffer.concat(views)), sha256(data));
  });

  it(
    'reuses its buffer once the handler has flushed (views are then overwritten)',
    { timeout: 10_000 },
    async () => {
      // The other side of the contract: a handler that says it flushed must not keep views.
      const views = await fetchViews(await target(), true);
      const distinct = new Set(views.map((v) => v.buffer));
      assert.ok(distinct.size < views.length, 'every read got a new buffer');
    },
  );
});
