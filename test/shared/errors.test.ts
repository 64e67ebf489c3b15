import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  badRequest,
  GwError,
  routeNotFound,
  upstreamConnect,
  upstreamTimeout,
} from '../../src/shared/errors.js';

describe('GwError: one error, every wire form', () => {
  it('carries the gRPC status a gateway answer sends, from its code', () => {
    assert.equal(upstreamTimeout('t:1', 'deadline', 100).grpcStatus, 4); // DEADLINE_EXCEEDED
    assert.equal(routeNotFound('rpc').grpcStatus, 12); // UNIMPLEMENTED
    assert.equal(badRequest('bad').grpcStatus, 13); // INTERNAL, as gRPC maps HTTP 400
    assert.equal(upstreamConnect('t:1', 'refused').grpcStatus, 14); // UNAVAILABLE
  });

  it('lets a factory choose another gRPC status', () => {
    const error = new GwError('GW_ERR_BAD_REQUEST', 'x', { grpcStatus: 12, httpStatus: 405 });
    assert.equal(error.grpcStatus, 12);
    assert.equal(error.httpStatus, 405);
  });
});
