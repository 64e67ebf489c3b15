import assert from 'node:assert/strict';
import net, { type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { H1ServerConnection, type H1Handler } from '../../../src/proxy/h1/server-connection.js';
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
