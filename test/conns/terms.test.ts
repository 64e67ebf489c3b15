import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { SynRecvFinding, TimeWaitFinding } from '../../src/conns/diagnose.js';
import { explainFinding } from '../../src/conns/explain-findings.js';
import { otherStateName } from '../../src/shared/tcp-terms.js';

const ROOT = new URL('../../', import.meta.url).pathname;

const timeWait: TimeWaitFinding = {
  code: 'time-wait-exhaustion',
  key: 'time-wait-exhaustion 10.0.0.5:80',
  severity: 'warning',
  count: 20_000,
  local: '10.0.0.1',
  destination: '10.0.0.5:80',
  portRange: { low: 32768, high: 60999 },
  rangeSize: 28_232,
  totalTimeWait: 20_000,
};

const synRecv: SynRecvFinding = {
  code: 'syn-recv-pileup',
  key: 'syn-recv-pileup 0.0.0.0:80',
  severity: 'warning',
  count: 12,
  listener: '0.0.0.0:80',
  distinctSources: 12,
  topRemote: [{ key: '10.0.0.9', count: 12 }],
  retried: 0,
};

/** Every .ts file under a folder. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

describe('TCP terms said one way across gw conns and gw explain', () => {
  it('gives TIME_WAIT as Linux fixes it (60 s, TCP_TIMEWAIT_LEN) and as RFC 9293 says it, in both languages', () => {
    const en = explainFinding(timeWait, 'en').meaning;
    const zh = explainFinding(timeWait, 'zh').meaning;
    assert.match(
      en,
      /60 s on Linux, fixed \(TCP_TIMEWAIT_LEN\); RFC 9293 says 2×MSL with an MSL of 2 minutes/,
    );
    assert.match(
      zh,
      /Linux 上固定 60 秒，即 TCP_TIMEWAIT_LEN；RFC 9293 规定为 2×MSL，其中 MSL 为 2 分钟/,
    );
  });

  it('says no other TIME_WAIT length anywhere in src/ or the README (no "2MSL", "30–60 s")', () => {
    const files = [...sources(join(ROOT, 'src')), join(ROOT, 'README.md')];
    const variants = /\b2MSL\b|30[–-]60 ?(s|秒)|MSL (is|通常)/;
    const found = files.filter((f) => variants.test(readFileSync(f, 'utf8')));
    assert.deepEqual(found, []);
  });

  it("names RFC 9293's state after the kernel's where a diagnosis first names SYN_RECV", () => {
    assert.match(explainFinding(synRecv, 'en').meaning, /^SYN_RECV \(RFC 9293: SYN-RECEIVED\) is/);
    assert.match(explainFinding(synRecv, 'zh').meaning, /^SYN_RECV（RFC 9293: SYN-RECEIVED）是/);
  });

  it('maps only the states whose names differ between the kernel and RFC 9293', () => {
    assert.equal(otherStateName('FIN_WAIT_2', 'rfc'), 'gw conns/netstat: FIN_WAIT2');
    assert.equal(otherStateName('SYN_RECEIVED', 'rfc'), 'gw conns/netstat: SYN_RECV');
    assert.equal(otherStateName('FIN_WAIT2', 'kernel'), 'RFC 9293: FIN-WAIT-2');
    for (const same of ['ESTABLISHED', 'TIME_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSING', 'LISTEN'])
      assert.equal(otherStateName(same, 'rfc'), undefined, same);
  });
});
