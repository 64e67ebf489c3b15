import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { probe } from '../../../src/proxy/demo/probe.js';
import { isGwError } from '../../../src/shared/errors.js';
import { freePort, startPeer } from '../../helpers/sockets.js';
import { gatewayTo } from '../../helpers/proxy.js';
import { decodeGrpcMessage, encodeGrpcMessage } from '../../../src/proxy/upstream/grpc-message.js';

const closers: (() => void)[] = [];
after(() => {
  for (const close of closers) close();
});

describe('gw demo probes against peers that misbehave', () => {
  it(
    'tcp: a peer that closes before its first line is an error, not a hang',
    { timeout: 10_000 },
    async () => {
      const peer = await startPeer((socket) => socket.end('no newline'));
      closers.push(peer.close);
      await assert.rejects(probe('tcp', '127.0.0.1', peer.port), (err) => {
        assert.ok(isGwError(err, 'GW_ERR_CONNECTION'), String(err));
        assert.match(err.message, /closed before its first line/);
        return true;
      });
    },
  );

  it('ws: a hello that is not JSON is an error, not a crash', { timeout: 10_000 }, async () => {
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

  it(
    'every kind: a peer that never answers is a timeout, and the probe leaves nothing open',
    { timeout: 30_000 },
    () => {
      // In a process of its own, which must exit by itself once the probes gave up.
      const module = new URL('../../../src/proxy/demo/probe.ts', import.meta.url).href;
      const script = `
        import net from 'node:net';
        const { probe } = await import(${JSON.stringify(module)});
        const silent = net.createServer((s) => s.resume()).listen(0, '127.0.0.1');
        await new Promise((r) => silent.once('listening', r));
        const { port } = silent.address();
        const results = await Promise.allSettled(
          ['http', 'ws', 'tcp'].map((kind) => probe(kind, '127.0.0.1', port)),
        );
        silent.close();
        console.log(JSON.stringify(results.map((r) => r.status + ' ' + (r.reason?.code ?? ''))));`;
      const started = Date.now();
      const child = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { encoding: 'utf8', timeout: 20_000 },
      );
      assert.equal(child.status, 0, child.stderr);
      assert.deepEqual(JSON.parse(child.stdout), [
        'rejected GW_ERR_CONNECT_TIMEOUT',
        'rejected GW_ERR_CONNECT_TIMEOUT',
        'rejected GW_ERR_CONNECT_TIMEOUT',
      ]);
      assert.ok(Date.now() - started < 12_000, `took ${Date.now() - started} ms`);
    },
  );
});

describe('grpc-message as the user sees it', () => {
  it('percent-encodes only what the gRPC spec asks, and decodes it back', () => {
    const text = 'cannot connect to 127.0.0.1:9001: 100% 你好';
    const wire = encodeGrpcMessage(text);
    assert.equal(wire, 'cannot connect to 127.0.0.1:9001: 100%25 %E4%BD%A0%E5%A5%BD');
    assert.equal(decodeGrpcMessage(wire), text);
    assert.equal(decodeGrpcMessage('50%'), '50%', 'a malformed sequence is kept');
  });

  it(
    'a call through gw to a target that refuses shows host:port, not 127.0.0.1%3A…',
    { timeout: 20_000 },
    async () => {
      const dead = await freePort();
      const gateway = await gatewayTo('grpc', [dead]);
      closers.push(() => void gateway.close());
      await assert.rejects(probe('grpc', '127.0.0.1', gateway.port('rpc')), (err) => {
        assert.ok(err instanceof Error);
        assert.doesNotMatch(err.message, /%3A/i, err.message);
        assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${dead}`), err.message);
        return true;
      });
    },
  );
});
