import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { RunningBackend } from '../../src/backend/backend-options.js';
import { startTcpBackend, type TcpBackendOptions } from '../../src/backend/tcp-backend.js';
import type { BackendEvent } from '../../src/backend/backend-event.js';
import { closed, connect, readBytes } from '../helpers/sockets.js';

const started: RunningBackend[] = [];
after(async () => {
  await Promise.all(started.map((b) => b.close()));
});

async function backend(options: TcpBackendOptions): Promise<number> {
  const b = await startTcpBackend(options);
  started.push(b);
  return b.port;
}

describe('TCP backend', () => {
  it('echoes 1 MiB of random bytes exactly and closes after the peer half-closes', async () => {
    const port = await backend({ port: 0, name: 't1' });
    const socket = await connect(port);
    const data = randomBytes(1024 * 1024);
    const received = readBytes(socket, data.length + 1); // +1: read until the backend's FIN
    socket.end(data);
    const echoed = await received;
    assert.ok(echoed.equals(data), `got ${echoed.length} bytes, not the ${data.length} sent`);
    await closed(socket);
  });

  it('writes nothing of its own without --banner', async () => {
    const port = await backend({ port: 0, name: 'quiet' });
    const socket = await connect(port);
    socket.end('x');
    assert.equal((await readBytes(socket, 2)).toString(), 'x');
  });

  it('writes "hello from NAME" first with banner, then echoes', async () => {
    const port = await backend({ port: 0, name: 'bannered', banner: true, latencyMs: 5 });
    const socket = await connect(port);
    socket.end('ping\n');
    const text = (await readBytes(socket, 1000)).toString();
    assert.equal(text, 'hello from bannered\nping\n');
  });

  it('resets the connection on its first data at fail-rate 1', async () => {
    const events: BackendEvent[] = [];
    const port = await backend({ port: 0, failRate: 1, onEvent: (e) => events.push(e) });
    const socket = await connect(port);
    const error = new Promise<NodeJS.ErrnoException>((resolve) => socket.once('error', resolve));
    socket.write('doomed');
    assert.equal((await error).code, 'ECONNRESET');
    await closed(socket);
    await new Promise((resolve) => setImmediate(resolve));
    const close = events.find((e) => e.type === 'close');
    assert.equal(close?.type === 'close' && close.reason, 'reset');
  });

  it('never resets at fail-rate 0', async () => {
    const port = await backend({ port: 0, failRate: 0, random: () => 0 });
    for (let i = 0; i < 10; i++) {
      const socket = await connect(port);
      socket.end(`m${i}`);
      assert.equal((await readBytes(socket, 100)).toString(), `m${i}`);
    }
  });
});
