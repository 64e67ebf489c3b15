import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addReplyField,
  newExchange,
  nextExchangeId,
  traceStep,
} from '../../../src/proxy/pipeline/types.js';

const start = {
  kind: 'grpc',
  listener: 'rpc',
  clientIp: '127.0.0.1',
  method: 'POST',
  host: 'a.test',
  url: '/s.S/M',
  path: '/s.S/M',
  route: 'r',
  upstream: 'u',
} as const;

describe('pipeline: exchanges', () => {
  it('numbers exchanges of every protocol from one sequence, so ids never repeat', () => {
    const ids = Array.from({ length: 1000 }, () => nextExchangeId());
    assert.equal(new Set(ids).size, ids.length);
    for (let i = 1; i < ids.length; i++) assert.equal(ids[i], (ids[i - 1] ?? 0) + 1);
    const ex = newExchange(start);
    assert.ok(ex.id > (ids.at(-1) ?? 0), 'an exchange takes the next id of the same sequence');
  });

  it('starts an exchange with nothing answered or chosen', () => {
    const ex = newExchange(start);
    assert.equal(ex.status, 0);
    assert.equal(ex.target, '');
    assert.equal(ex.errorCode, '');
    assert.equal(ex.attempts, 0);
    assert.equal(ex.consumer, '');
    assert.equal(ex.priority, 'normal');
    assert.equal(ex.trace, undefined);
    assert.equal(ex.replyFields, undefined);
    assert.equal(ex.header('content-type'), undefined);
  });

  it('collects reply fields in order, and traces only a traced exchange', () => {
    const ex = newExchange(start);
    addReplyField(ex, 'retry-after', '2');
    addReplyField(ex, 'x-a', 'b');
    assert.deepEqual(ex.replyFields, ['retry-after', '2', 'x-a', 'b']);
    traceStep(ex, 'not kept');
    assert.equal(ex.trace, undefined);
    ex.trace = [];
    traceStep(ex, 'route r');
    assert.deepEqual(ex.trace, ['route r']);
  });
});
