import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseStates,
  ssName,
  stateFromCode,
  stateFromSsName,
  STATES,
} from '../../src/conns/states.js';
import { isGwError } from '../../src/shared/errors.js';

const sorted = (set: ReadonlySet<string>) => [...set].sort();

describe('TCP states and --state', () => {
  it('maps the kernel codes 01–0B of /proc/net/tcp to the kernel names', () => {
    assert.deepEqual(
      Array.from({ length: 11 }, (_, i) => stateFromCode(i + 1)),
      [
        'ESTABLISHED',
        'SYN_SENT',
        'SYN_RECV',
        'FIN_WAIT1',
        'FIN_WAIT2',
        'TIME_WAIT',
        'CLOSE',
        'CLOSE_WAIT',
        'LAST_ACK',
        'LISTEN',
        'CLOSING',
      ],
    );
    assert.equal(stateFromCode(0), undefined);
    assert.equal(stateFromCode(12), undefined);
  });

  it('accepts kernel names, ss names, dashes or underscores, in any case', () => {
    for (const spelling of ['CLOSE_WAIT', 'close-wait', 'Close_Wait', 'closewait', 'CLOSE-WAIT']) {
      assert.deepEqual(sorted(parseStates([spelling])), ['CLOSE_WAIT'], spelling);
    }
    assert.deepEqual(sorted(parseStates(['fin-wait-1', 'FIN_WAIT2'])), ['FIN_WAIT1', 'FIN_WAIT2']);
    assert.deepEqual(sorted(parseStates(['estab', 'listening', 'syn-rcv', 'unconnected'])), [
      'CLOSE',
      'ESTABLISHED',
      'LISTEN',
      'SYN_RECV',
    ]);
  });

  it('takes several states comma-separated or repeated', () => {
    assert.deepEqual(sorted(parseStates(['time-wait,close_wait', 'LISTEN'])), [
      'CLOSE_WAIT',
      'LISTEN',
      'TIME_WAIT',
    ]);
  });

  it("expands ss's groups exactly as ss defines them", () => {
    const all = [...STATES];
    const without = (...states: string[]) => all.filter((s) => !states.includes(s)).sort();
    assert.deepEqual(sorted(parseStates(['all'])), [...all].sort());
    assert.deepEqual(sorted(parseStates(['connected'])), without('LISTEN', 'CLOSE'));
    assert.deepEqual(sorted(parseStates(['synchronized'])), without('LISTEN', 'CLOSE', 'SYN_SENT'));
    assert.deepEqual(sorted(parseStates(['bucket'])), ['SYN_RECV', 'TIME_WAIT']);
    assert.deepEqual(sorted(parseStates(['big'])), without('SYN_RECV', 'TIME_WAIT'));
  });

  it('refuses an unknown state with exit 2 and the list of valid names, even names of object properties', () => {
    for (const bad of ['closed_wait', 'constructor', '', 'toString']) {
      assert.throws(
        () => parseStates([bad]),
        (err: unknown) => {
          assert.ok(isGwError(err, 'GW_ERR_CONNS_UNKNOWN_STATE'), String(err));
          assert.equal(err.exitCode, 2);
          assert.match(err.hint ?? '', /CLOSE_WAIT.*close-wait.*connected/);
          return true;
        },
      );
    }
  });

  it("translates to and from ss's State column", () => {
    for (const state of STATES) assert.equal(stateFromSsName(ssName(state)), state);
    assert.equal(ssName('ESTABLISHED'), 'ESTAB');
    assert.equal(ssName('FIN_WAIT1'), 'FIN-WAIT-1');
  });
});
