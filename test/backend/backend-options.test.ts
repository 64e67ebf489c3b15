import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeBackendEvent } from '../../src/backend/backend-event.js';
import { backendOptions, shouldFail, sleep } from '../../src/backend/backend-options.js';
import { byteStream, CHUNK_BYTES, patternByte } from '../../src/backend/byte-stream.js';
import { isGwError } from '../../src/shared/errors.js';

describe('backendOptions', () => {
  it('fills in the defaults', () => {
    const resolved = backendOptions({ port: 0 });
    assert.deepEqual(
      [resolved.host, resolved.name, resolved.latencyMs, resolved.failRate],
      ['127.0.0.1', undefined, 0, 0],
    );
  });

  for (const [label, options] of [
    ['a fail rate above 1', { port: 0, failRate: 1.01 }],
    ['a negative fail rate', { port: 0, failRate: -0.1 }],
    ['a negative latency', { port: 0, latencyMs: -1 }],
    ['a port above 65535', { port: 65536 }],
    ['a name with a newline', { port: 0, name: 'a\nb' }],
    ['an empty name', { port: 0, name: '' }],
  ] as const) {
    it(`rejects ${label} with GW_ERR_INVALID_ARGUMENT`, () => {
      assert.throws(
        () => backendOptions(options),
        (err) => isGwError(err, 'GW_ERR_INVALID_ARGUMENT'),
      );
    });
  }

  it('never draws at rate 0 or 1, and fails draws below the rate otherwise', () => {
    const never = (): number => assert.fail('random must not be called');
    assert.equal(shouldFail(backendOptions({ port: 0, failRate: 0, random: never })), false);
    assert.equal(shouldFail(backendOptions({ port: 0, failRate: 1, random: never })), true);
    const half = (draw: number) => backendOptions({ port: 0, failRate: 0.5, random: () => draw });
    assert.equal(shouldFail(half(0.49)), true);
    assert.equal(shouldFail(half(0.5)), false);
  });
});

describe('sleep', () => {
  it('resolves at once when its signal aborts', async () => {
    const abort = new AbortController();
    const slept = sleep(60_000, abort.signal);
    abort.abort();
    await slept;
  });
});

describe('byteStream', () => {
  it('produces exactly the bytes asked for, in 64 KiB chunks, following the pattern', async () => {
    const total = 3 * CHUNK_BYTES + 123;
    const sizes: number[] = [];
    const chunks: Buffer[] = [];
    for await (const chunk of byteStream(total)) {
      sizes.push((chunk as Buffer).length);
      chunks.push(chunk as Buffer);
    }
    assert.deepEqual(sizes, [CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES, 123]);
    const all = Buffer.concat(chunks);
    for (const offset of [0, 63, 64, 65, CHUNK_BYTES + 5, total - 1]) {
      assert.equal(all[offset], patternByte(offset));
    }
  });

  it('produces an empty stream for 0 bytes', async () => {
    let count = 0;
    for await (const chunk of byteStream(0)) count += (chunk as Buffer).length;
    assert.equal(count, 0);
  });
});

describe('describeBackendEvent', () => {
  it('writes the listening line the CLI prints', () => {
    assert.equal(
      describeBackendEvent({
        type: 'listening',
        kind: 'http',
        backend: 'a',
        host: '127.0.0.1',
        port: 9001,
      }),
      'backend a (http) listening on 127.0.0.1:9001',
    );
  });
});
