import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newExchange, nextExchangeId } from '../../../src/proxy/pipeline/types.js';

describe('pipeline: exchanges', () => {
  it('numbers exchanges of every protocol from one sequence, so ids never repeat', () => {
    const ids = Array.from({ length: 1000 }, () => nextExchangeId());
    assert.equal(new Set(ids).size, ids.length);
    for (let i = 1; i < ids.length; i++) assert.equal(ids[i], (ids[i - 1] ?? 0) + 1);
  });

  it('starts an exchange with nothing answered or chosen', () => {
    const ex = newExchange({
      id: nextExchangeId(),
      kind: 'grpc',
      listener: 'rpc',
      clientIp: '127.0.0.1',
      method: 'POST',
      host: 'a.test',
      url: '/s.S/M',
      route: 'r',
      upstream: 'u',
    });
    assert.equal(ex.status, 0);
    assert.equal(ex.target, '');
    assert.equal(ex.errorCode, '');
    assert.equal(ex.attempts, 0);
  });
});
