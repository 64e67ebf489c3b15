import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { probe } from '../../../src/proxy/demo/probe.js';
import { isGwError } from '../../../src/shared/errors.js';
import { startPeer } from '../../helpers/sockets.js';

const closers: (() => void)[] = [];
after(() => {
  for (const close of closers) close();
});

describe('gw demo probes against peers that misbehave', () => {
  it('tcp: a peer that closes before its first line is an error, not a hang', async () => {
    const peer = await startPeer((socket) => socket.end('no newline'));
    closers.push(peer.close);
    await assert.rejects(probe('tcp', '127.0.0.1', peer.port), (err) => {
      assert.ok(isGwError(err, 'GW_ERR_CONNECTION'), String(err));
      assert.match(err.message, /closed before its first line/);
      return true;
    });
  });

  it('ws: a hello that is not JSON is an error, not a crash', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wss.once('listening', resolve));
    closers.push(() => wss.close());
    wss.on('connection', (ws) => ws.send('not json'));
    const { port } = wss.address() as { port: number };
    await assert.rejects(probe('ws', '127.0.0.1', port), (err) => {
      assert.ok(isGwError(err, 'GW_ERR_CONNECTION'), String(err));
      assert.match(err.message, /not JSON/);
      return true;
    });
  });
});
