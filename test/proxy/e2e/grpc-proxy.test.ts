import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { echoClient, type EchoClient, type EchoReply } from '../../../src/backend/grpc-client.js';
import { freePort } from '../../helpers/sockets.js';
import {
  startBackends,
  startTestGateway,
  tally,
  targets,
  type TestGateway,
} from '../../helpers/proxy.js';

const backends: RunningBackend[] = [];
let gw: TestGateway;
let client: EchoClient;
let downClient: EchoClient;

before(async () => {
  const grpcBackends = await startBackends('grpc', 'g', 3);
  backends.push(...grpcBackends);
  const dead = await freePort();
  gw = await startTestGateway(`
listeners:
  - name: rpc
    protocol: grpc
    listen: 127.0.0.1:0
    routes:
      - { match: { pathPrefix: /gw.echo.v1.Echo/, headers: { x-down: "yes" } }, upstream: down }
      - { match: { pathPrefix: /gw.echo.v1.Echo/ }, upstream: echo }
upstreams:
  - { name: echo, balance: round-robin, targets: ${targets(grpcBackends)} }
  - { name: down, targets: ["127.0.0.1:${dead}"] }
`);
  client = echoClient(`127.0.0.1:${gw.port('rpc')}`);
  downClient = echoClient(`127.0.0.1:${gw.port('rpc')}`);
});

after(async () => {
  client.close();
  downClient.close();
  await gw.close();
  await Promise.all(backends.map((b) => b.close()));
});

function unary(
  request: { message: string; count?: number; delayMs?: number; failCode?: number },
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
  on: EchoClient = client,
): Promise<{ reply: EchoReply; trailers: grpc.Metadata }> {
  return new Promise((resolve, reject) => {
    let result: EchoReply | undefined;
    const call = on.Unary(request, metadata, options, (err, reply) => {
      if (err) reject(err);
      else result = reply;
    });
    // The status (with the trailers) comes after the reply.
    call.on('status', (status: grpc.StatusObject) => {
      if (result) resolve({ reply: result, trailers: status.metadata });
    });
  });
}

describe('gw proxy: gRPC', () => {
  it('balances every call, not every connection: one channel spreads over all targets', async () => {
    const names: string[] = [];
    for (let i = 0; i < 9; i++) names.push((await unary({ message: `m${i}` })).reply.backend);
    assert.deepEqual(tally(names), { 'g-1': 3, 'g-2': 3, 'g-3': 3 });
  });

  it('relays a unary call with its metadata and trailers', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-request-id', 'abc-123');
    const { reply, trailers } = await unary({ message: 'hi' }, metadata);
    assert.equal(reply.message, 'hi');
    assert.equal(reply.metadata['x-request-id'], 'abc-123');
    assert.match(String(trailers.get('x-backend')[0]), /^g-\d$/);
  });

  it('relays a server-streaming call in order', async () => {
    const got: EchoReply[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = client.ServerStream({ message: 's', count: 5 });
      call.on('data', (r: EchoReply) => got.push(r));
      call.on('error', reject);
      call.on('end', resolve);
    });
    assert.deepEqual(
      got.map((r) => r.index),
      [0, 1, 2, 3, 4],
    );
    assert.equal(new Set(got.map((r) => r.backend)).size, 1);
  });

  it('relays a client-streaming call', async () => {
    const reply = await new Promise<EchoReply>((resolve, reject) => {
      const call = client.ClientStream((err, r) => (err ? reject(err) : r && resolve(r)));
      for (const message of ['a', 'b', 'c']) call.write({ message });
      call.end();
    });
    assert.equal(reply.message, 'a,b,c');
    assert.equal(reply.index, 3);
  });

  it('relays a bidirectional stream message by message', async () => {
    const call = client.Bidi();
    const replies: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (r: EchoReply) => {
        replies.push(r.message);
        if (replies.length < 3) call.write({ message: `ping-${replies.length}` });
        else call.end();
      });
      call.on('error', reject);
      call.on('end', resolve);
    });
    call.write({ message: 'ping-0' });
    await done;
    assert.deepEqual(replies, ['ping-0', 'ping-1', 'ping-2']);
  });

  it('preserves the status and message a target answers with', async () => {
    await assert.rejects(unary({ message: 'x', failCode: 5 }), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.NOT_FOUND);
      assert.match(String(err.metadata.get('x-backend')[0]), /^g-\d$/);
      return true;
    });
  });

  it('keeps the grpc-timeout deadline: a slow call ends DEADLINE_EXCEEDED', async () => {
    await assert.rejects(
      unary({ message: 'slow', delayMs: 2000 }, new grpc.Metadata(), {
        deadline: Date.now() + 300,
      }),
      (err: grpc.ServiceError) => err.code === grpc.status.DEADLINE_EXCEEDED,
    );
  });

  it('answers UNAVAILABLE as a trailers-only gRPC response when the target is down', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-down', 'yes');
    await assert.rejects(
      unary({ message: 'x' }, metadata, {}, downClient),
      (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAVAILABLE);
        assert.equal(err.metadata.get('x-gw-error')[0], 'GW_ERR_UPSTREAM_CONNECT');
        return true;
      },
    );
  });

  it('answers UNIMPLEMENTED for a method no route matches', async () => {
    const other = new grpc.Client(`127.0.0.1:${gw.port('rpc')}`, grpc.credentials.createInsecure());
    const status = await new Promise<grpc.ServiceError | null>((resolve) => {
      other.makeUnaryRequest(
        '/other.Service/Call',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (err) => resolve(err),
      );
    });
    other.close();
    assert.equal(status?.code, grpc.status.UNIMPLEMENTED);
  });
});
