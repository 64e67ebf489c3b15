import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refusedLine } from '../../../src/proxy/listeners/refused-log.js';
import { RefusalLog } from '../../../src/proxy/middleware/access-log/refusal-log.js';
import { badRequest, clientTimeout } from '../../../src/shared/errors.js';

describe('refusedLine', () => {
  it('writes access-log lines with the status and code, `-` for what was not read', () => {
    const first = refusedLine(
      'web',
      { clientIp: '10.0.0.1', method: 'GET', target: '/x' },
      badRequest('bad', undefined, 505),
    );
    const second = refusedLine(
      'web',
      { clientIp: '10.0.0.2', method: '-', target: '-' },
      clientTimeout(10),
    );
    assert.match(first, /^10\.0\.0\.1 web GET \/x 505 - - [\d.]+ms GW_ERR_BAD_REQUEST$/);
    assert.match(second, /^10\.0\.0\.2 web - - 408 - - [\d.]+ms GW_ERR_CLIENT_TIMEOUT$/);
  });

  it('keeps to the listener rate and says how many lines it left out once the second is over', async () => {
    const lines: string[] = [];
    const log = new RefusalLog((line) => lines.push(line), 'web', 3);
    const error = badRequest('bad');
    for (let i = 0; i < 8; i++) {
      log.log(() => refusedLine('web', { clientIp: '::1', method: 'GET', target: `/${i}` }, error));
    }
    assert.equal(lines.length, 3);
    const count = (): number => lines.length;
    for (let t = 0; t < 300 && count() < 4; t++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(lines[3], 'web: 5 refused-request log lines suppressed (over 3/s)');
    // A new second logs again.
    log.log(() => refusedLine('web', { clientIp: '::1', method: 'GET', target: '/again' }, error));
    assert.match(lines[4] ?? '', / GET \/again 400 /);
  });
});
