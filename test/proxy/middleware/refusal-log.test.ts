import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RefusalLog } from '../../../src/proxy/middleware/access-log/refusal-log.js';

describe('RefusalLog', () => {
  it(
    'writes the first N lines of a second, then one summary of the rest',
    { timeout: 5000 },
    async () => {
      const lines: string[] = [];
      const log = new RefusalLog((line) => lines.push(line), 'rpc', 3);
      let built = 0;
      for (let i = 0; i < 10; i++) {
        log.log(() => {
          built++;
          return `refused ${i}`;
        });
      }
      assert.deepEqual(lines, ['refused 0', 'refused 1', 'refused 2']);
      assert.equal(built, 3, 'lines left out are never built');
      // The summary comes when the second ends, even if nothing else is refused.
      const end = Date.now() + 3000;
      while (lines.length < 4 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.equal(lines[3], 'rpc: 7 refused-request log lines suppressed (over 3/s)');
      // A new second: lines are written again, and nothing more is summarized.
      log.log(() => 'refused again');
      assert.equal(lines.at(-1), 'refused again');
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(lines.length, 5);
    },
  );
});
