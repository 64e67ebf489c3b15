import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { RunningBackend } from '../../src/backend/backend-options.js';
import { startGrpcBackend } from '../../src/backend/grpc-backend.js';
import {
  echoClient,
  healthClient,
  type EchoClient,
  type EchoReply,
} from '../../src/backend/grpc-client.js';
import { isGwError } from '../../src/shared/errors.js';

const started: RunningBackend[] = [];
const clients: grpc.Client[] = [];
after(async () => {
  for (const client of clients) client.close();
  await Promise.all(started.map((b) => b.close()));
});

async function backend(options: Parameters<typeof startGrpcBackend>[0]): Promise<EchoClient> {
  const b = await startGrpcBackend(options);
  started.push(b);
  const client = echoClient(`127.0.0.1:${b.port}`);
  clients.push(client);
  return client;
}

interface UnaryOutcome {
  reply: EchoReply | undefined;
  error: grpc.ServiceError | null;
  status: grpc.StatusObject;
}

/** Calls Unary and waits for both the callback and the final status (with trailers). */
function unary(
  client: EchoClient,
  request: Parameters<EchoClient['Unary']>[0],
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): Promise<UnaryOutcome> {
  return new Promise((resolve) => {
    let result: Pick<UnaryOutcome, 'reply' | 'error'> | undefined;
    let status: grpc.StatusObject | undefined;
    const done = (): void => {
      if (result !== undefined && status !== undefined) resolve({ ...result, status });
    };
    const call = client.Unary(request, metadata, options, (error, reply) => {
      result = { error, reply };
      done();
    });
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      done();
    });
  });
}

function collect<T>(stream: grpc.ClientReadableStream<T> | grpc.ClientDuplexStream<unknown, T>) {
  return new Promise<{ replies: T[]; status: grpc.StatusObject; error?: grpc.ServiceError }>(
    (resolve) => {
      const replies: T[] = [];
      let error: grpc.ServiceError | undefined;
      stream.on('data', (reply: T) => replies.push(reply));
      stream.on('error', (err: grpc.ServiceError) => (error = err));
      stream.on('status', (status: grpc.StatusObject) => {
        // 'status' can come before the last 'error'; let the events settle.
        setImmediate(() =>
          resolve(error === undefined ? { replies, status } : { replies, status, error }),
        );
      });
    },
  );
}

describe('gRPC backend', () => {
  let client: EchoClient;
  let address = '';
  before(async () => {
    const b = await startGrpcBackend({ port: 0, name: 'g1' });
    started.push(b);
    address = `127.0.0.1:${b.port}`;
    client = echoClient(address);
    clients.push(client);
  });

  it('answers Unary with its name, the request metadata and the x-backend trailer', async () => {
    const metadata = new grpc.Metadata();
    metadata.set('x-test', 'hello');
    metadata.set('x-blob-bin', Buffer.from([1, 2, 3]));
    const { reply, error, status } = await unary(client, { message: 'hi' }, metadata);
    assert.equal(error, null);
    assert.equal(reply?.message, 'hi');
    assert.equal(reply.backend, 'g1');
    assert.equal(reply.index, 0);
    assert.equal(reply.metadata['x-test'], 'hello');
    assert.equal(reply.metadata['x-blob-bin'], Buffer.from([1, 2, 3]).toString('base64'));
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(status.metadata.get('x-backend'), ['g1']);
  });

  it('sends count replies on ServerStream, indexed from 0', async () => {
    const { replies, status } = await collect(client.ServerStream({ message: 's', count: 3 }));
    assert.deepEqual(
      replies.map((r) => [r.message, r.index, r.backend]),
      [
        ['s', 0, 'g1'],
        ['s', 1, 'g1'],
        ['s', 2, 'g1'],
      ],
    );
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(status.metadata.get('x-backend'), ['g1']);
  });

  it('summarises a ClientStream: the messages joined and how many', async () => {
    const reply = await new Promise<EchoReply | undefined>((resolve, reject) => {
      const call = client.ClientStream((err, r) => (err ? reject(err) : resolve(r)));
      for (const message of ['a', 'b', 'c']) call.write({ message });
      call.end();
    });
    assert.equal(reply?.message, 'a,b,c');
    assert.equal(reply.index, 3);
    assert.equal(reply.backend, 'g1');
  });

  it('echoes every Bidi message in order, whatever its delay', async () => {
    const call = client.Bidi();
    const outcome = collect(call);
    call.write({ message: 'one', delayMs: 20 });
    call.write({ message: 'two' });
    call.write({ message: 'three', delayMs: 5 });
    call.end();
    const { replies, status } = await outcome;
    assert.deepEqual(
      replies.map((r) => [r.message, r.index]),
      [
        ['one', 0],
        ['two', 1],
        ['three', 2],
      ],
    );
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(status.metadata.get('x-backend'), ['g1']);
  });

  it('ends with the status asked for by fail_code, with the x-backend trailer', async () => {
    const { error, status } = await unary(client, { message: 'x', failCode: 5 });
    assert.equal(error?.code, grpc.status.NOT_FOUND);
    assert.deepEqual(error.metadata.get('x-backend'), ['g1']);
    assert.equal(status.code, grpc.status.NOT_FOUND);
  });

  it('sends the ServerStream replies before the fail_code status', async () => {
    const { replies, error } = await collect(
      client.ServerStream({ message: 's', count: 2, failCode: grpc.status.RESOURCE_EXHAUSTED }),
    );
    assert.equal(replies.length, 2);
    assert.equal(error?.code, grpc.status.RESOURCE_EXHAUSTED);
  });

  it('ends a Bidi call with fail_code when that message is reached', async () => {
    const call = client.Bidi();
    const outcome = collect(call);
    call.write({ message: 'ok' });
    call.write({ message: 'stop', failCode: grpc.status.ABORTED });
    call.end();
    const { replies, error } = await outcome;
    assert.deepEqual(
      replies.map((r) => r.message),
      ['ok'],
    );
    assert.equal(error?.code, grpc.status.ABORTED);
    assert.deepEqual(error.metadata.get('x-backend'), ['g1']);
  });

  it('lets a delay beyond the deadline end in DEADLINE_EXCEEDED', async () => {
    const { error } = await unary(client, { message: 'slow', delayMs: 5000 }, new grpc.Metadata(), {
      deadline: Date.now() + 100,
    });
    assert.equal(error?.code, grpc.status.DEADLINE_EXCEEDED);
  });

  it('answers the standard health check with SERVING, and NOT_FOUND for unknown services', async () => {
    const health = healthClient(address);
    clients.push(health);
    const check = (service: string) =>
      new Promise<{ err: grpc.ServiceError | null; status: string | undefined }>((resolve) => {
        health.Check({ service }, (err, res) => resolve({ err, status: res?.status }));
      });
    assert.deepEqual(await check(''), { err: null, status: 'SERVING' });
    assert.equal((await check('gw.echo.v1.Echo')).status, 'SERVING');
    assert.equal((await check('nope.Service')).err?.code, grpc.status.NOT_FOUND);
  });
});

describe('gRPC backend failure injection', () => {
  it('answers UNAVAILABLE with its name at fail-rate 1, on unary and streaming calls', async () => {
    const client = await backend({ port: 0, name: 'gbad', failRate: 1 });
    const { error } = await unary(client, { message: 'x' });
    assert.equal(error?.code, grpc.status.UNAVAILABLE);
    assert.equal(error.details, 'injected failure from gbad');
    assert.deepEqual(error.metadata.get('x-backend'), ['gbad']);
    const stream = await collect(client.ServerStream({ message: 'x', count: 2 }));
    assert.equal(stream.error?.code, grpc.status.UNAVAILABLE);
    assert.equal(stream.replies.length, 0);
  });

  it('never fails at fail-rate 0', async () => {
    const client = await backend({ port: 0, failRate: 0, latencyMs: 1 });
    for (let i = 0; i < 20; i++) {
      const { error } = await unary(client, { message: `m${i}` });
      assert.equal(error, null);
    }
  });
});

describe('gRPC backend start-up', () => {
  it('refuses a taken port with GW_ERR_PORT_IN_USE', async () => {
    const b = await startGrpcBackend({ port: 0 });
    started.push(b);
    await assert.rejects(startGrpcBackend({ port: b.port }), (err) =>
      isGwError(err, 'GW_ERR_PORT_IN_USE'),
    );
  });
});
