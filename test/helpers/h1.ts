import assert from 'node:assert/strict';
import { H1Error } from '../../src/proxy/h1/head.js';

/** The bytes of a latin1 string (as HTTP/1.1 heads are read). */
export const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** True for an H1Error with this status (an `assert.throws` validator). */
export const h1 =
  (status: number) =>
  (err: unknown): boolean => {
    assert.ok(err instanceof H1Error, `expected an H1Error, got ${String(err)}`);
    assert.equal(err.status, status, `status for "${err.message}"`);
    return true;
  };
