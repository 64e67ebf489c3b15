import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Analyzer, type AnalyzedPacket } from '../../src/explain/analyze/analyzer.js';
import { FLAG, type TcpPacket, type TcpOptions } from '../../src/explain/types.js';

const C = { address: '10.0.0.1', port: 40000 };
const S = { address: '10.0.0.2', port: 80 };
const CISN = 1000;
const SISN = 5000;
const { SYN, ACK, FIN, RST, PSH } = FLAG;

/** A little script of packets: `from`, flags, relative seq/ack, len, window. */
class Script {
  private readonly analyzer = new Analyzer();
  private index = 0;
  time = 100;
  readonly out: AnalyzedPacket[] = [];

  send(
    from: 'c' | 's',
    flags: number,
    seq: number,
    ack: number,
    len = 0,
    win = 1000,
    options: TcpOptions = {},
    dt = 0.0001,
  ): AnalyzedPacket {
    this.time += dt;
    const client = from === 'c';
    const packet: TcpPacket = {
      index: ++this.index,
      time: this.time,
      src: client ? C : S,
      dst: client ? S : C,
      ipVersion: 4,
      flags,
      seq: ((client ? CISN : SISN) + seq) >>> 0,
      ack: flags & ACK ? ((client ? SISN : CISN) + ack) >>> 0 : 0,
      win,
      len,
      options,
    };
    const analyzed = this.analyzer.push(packet);
    this.out.push(analyzed);
    return analyzed;
  }

  handshake(options: { wscale?: number } = {}): void {
    const ws = options.wscale === undefined ? {} : { wscale: options.wscale };
    this.send('c', SYN, 0, 0, 0, 1000, { mss: 1460, ...ws });
    this.send('s', SYN | ACK, 0, 1, 0, 1000, { mss: 1460, ...ws }, 0.01);
    this.send('c', ACK, 1, 1, 0, 1000, {}, 0.01);
  }

  get connections() {
    return this.analyzer.connections;
  }
}

describe('explain analyzer: handshake, teardown, roles', () => {
  it('numbers the three handshake steps and computes the handshake RTT', () => {
    const s = new Script();
    s.handshake();
    assert.deepEqual(
      s.out.map((a) => [a.phase, a.step]),
      [
        ['handshake', 1],
        ['handshake', 2],
        ['handshake', 3],
      ],
    );
    assert.ok(Math.abs((s.connections[0]?.irtt ?? 0) - 0.02) < 1e-9);
    assert.deepEqual(s.connections[0]?.states, { client: 'ESTABLISHED', server: 'ESTABLISHED' });
  });

  it('shows relative sequence numbers and applies window scaling after the handshake', () => {
    const s = new Script();
    s.handshake({ wscale: 7 });
    const data = s.send('c', PSH | ACK, 1, 1, 100, 512);
    assert.deepEqual([data.relSeq, data.relAck, data.window], [1, 1, 512 * 128]);
  });

  it('follows the four-way teardown and leaves the active closer in TIME_WAIT', () => {
    const s = new Script();
    s.handshake();
    const fin1 = s.send('c', FIN | ACK, 1, 1);
    const ack1 = s.send('s', ACK, 1, 2);
    const fin2 = s.send('s', FIN | ACK, 1, 2);
    const ack2 = s.send('c', ACK, 2, 2);
    assert.deepEqual(
      [fin1, ack1, fin2, ack2].map((a) => a.step),
      [1, 2, 3, 4],
    );
    // A FIN changes only its sender when seen; its receiver's CLOSE_WAIT or TIME_WAIT
    // shows when the receiver's ACK proves the FIN arrived.
    assert.deepEqual(fin1.stateChanges, [{ who: 'client', from: 'ESTABLISHED', to: 'FIN_WAIT_1' }]);
    assert.deepEqual(ack1.stateChanges, [
      { who: 'server', from: 'ESTABLISHED', to: 'CLOSE_WAIT' },
      { who: 'client', from: 'FIN_WAIT_1', to: 'FIN_WAIT_2' },
    ]);
    assert.deepEqual(fin2.stateChanges, [{ who: 'server', from: 'CLOSE_WAIT', to: 'LAST_ACK' }]);
    assert.deepEqual(ack2.stateChanges, [
      { who: 'client', from: 'FIN_WAIT_2', to: 'TIME_WAIT' },
      { who: 'server', from: 'LAST_ACK', to: 'CLOSED' },
    ]);
    assert.deepEqual(s.connections[0]?.states, { client: 'TIME_WAIT', server: 'CLOSED' });
    assert.equal(s.connections.at(0)?.end, 'fin');
  });

  it('treats FIN+ACK that also acknowledges the first FIN as step 3', () => {
    const s = new Script();
    s.handshake();
    s.send('c', FIN | ACK, 1, 1);
    const both = s.send('s', FIN | ACK, 1, 2);
    assert.equal(both.step, 3);
    assert.deepEqual(both.stateChanges, [
      { who: 'server', from: 'ESTABLISHED', to: 'CLOSE_WAIT' },
      { who: 'server', from: 'CLOSE_WAIT', to: 'LAST_ACK' },
      { who: 'client', from: 'FIN_WAIT_1', to: 'FIN_WAIT_2' },
    ]);
    const last = s.send('c', ACK, 2, 2);
    assert.equal(last.step, 4);
    assert.deepEqual(s.connections[0]?.states, { client: 'TIME_WAIT', server: 'CLOSED' });
  });

  it('follows a simultaneous close as RFC 9293 draws it: FIN_WAIT_1, CLOSING, TIME_WAIT on both sides', () => {
    const s = new Script();
    s.handshake();
    const fin1 = s.send('c', FIN | ACK, 1, 1);
    // The server's FIN does not acknowledge the client's: it was sent before that FIN arrived.
    const fin2 = s.send('s', FIN | ACK, 1, 1);
    assert.deepEqual(s.connections[0]?.states, { client: 'FIN_WAIT_1', server: 'FIN_WAIT_1' });
    const ack1 = s.send('c', ACK, 2, 2);
    const ack2 = s.send('s', ACK, 2, 2);
    assert.deepEqual(s.connections.at(0)?.states, { client: 'TIME_WAIT', server: 'TIME_WAIT' });
    assert.deepEqual(
      [fin1, fin2, ack1, ack2].map((a) => [a.step, a.simultaneousClose === true]),
      [
        [1, false],
        [2, true],
        [3, true],
        [4, true],
      ],
    );
    for (const who of ['client', 'server'] as const) {
      const path = s.out.flatMap((a) =>
        a.stateChanges.filter((c) => c.who === who).map((c) => c.to),
      );
      assert.deepEqual(path.slice(-3), ['FIN_WAIT_1', 'CLOSING', 'TIME_WAIT'], who);
      assert.ok(!path.includes('CLOSE_WAIT') && !path.includes('LAST_ACK'), who);
    }
  });

  it('never advances the teardown or a state for a retransmitted FIN', () => {
    const s = new Script();
    s.handshake();
    const fin = s.send('c', FIN | ACK, 1, 1);
    const again = s.send('c', FIN | ACK, 1, 1, 0, 1000, {}, 0.3);
    assert.deepEqual(
      [again.phase, again.step, again.repeatsFinOf, again.stateChanges],
      ['teardown', 0, fin.packet.index, []],
    );
    assert.deepEqual(s.connections[0]?.states, { client: 'FIN_WAIT_1', server: 'ESTABLISHED' });
    const fin2 = s.send('s', FIN | ACK, 1, 2);
    const last = s.send('c', ACK, 2, 2);
    assert.deepEqual([fin2.step, last.step], [3, 4]);
    assert.deepEqual(s.connections.at(0)?.states, { client: 'TIME_WAIT', server: 'CLOSED' });
  });

  it('numbers only the first ACK of each FIN: a repeated ACK is no step 4 (reorder.pcap #278)', () => {
    const s = new Script();
    s.handshake();
    s.send('s', FIN | ACK, 1, 1);
    const ack1 = s.send('c', ACK, 1, 2);
    const fin2 = s.send('c', FIN | ACK, 1, 2);
    const again = s.send('c', ACK, 2, 2);
    const ack2 = s.send('s', ACK, 2, 2);
    assert.deepEqual(
      [ack1, fin2, again, ack2].map((a) => [a.step, a.stateChanges.length]),
      [
        [2, 2],
        [3, 1],
        [0, 0],
        [4, 2],
      ],
    );
  });

  it('infers LISTEN only from a SYN+ACK: a refused SYN leaves the server CLOSED', () => {
    const refused = new Script();
    const syn = refused.send('c', SYN, 0, 0);
    assert.deepEqual(syn.stateChanges, [{ who: 'client', from: 'CLOSED', to: 'SYN_SENT' }]);
    const rst = refused.send('s', RST | ACK, 0, 1);
    assert.ok(!rst.stateChanges.some((c) => c.from === 'LISTEN' || c.to === 'LISTEN'));
    assert.deepEqual(refused.connections[0]?.states, { client: 'CLOSED', server: 'CLOSED' });
    // A refusal completes no handshake: it has no handshake RTT.
    assert.equal(refused.connections[0].irtt, 0);
    const open = new Script();
    open.send('c', SYN, 0, 0);
    const synAck = open.send('s', SYN | ACK, 0, 1);
    assert.deepEqual(synAck.stateChanges, [
      { who: 'server', from: 'CLOSED', to: 'LISTEN' },
      { who: 'server', from: 'LISTEN', to: 'SYN_RECEIVED' },
      { who: 'client', from: 'SYN_SENT', to: 'ESTABLISHED' },
    ]);
  });

  it('leaves the window unscaled and the scale unknown when the SYNs were not captured', () => {
    const mid = new Script();
    const ack = mid.send('c', ACK, 1, 1, 0, 72);
    assert.deepEqual([ack.window, ack.windowScale], [72, undefined]);
    const s = new Script();
    s.handshake({ wscale: 7 });
    const scaled = s.send('c', ACK, 1, 1, 0, 72);
    assert.deepEqual([scaled.window, scaled.windowScale], [72 * 128, 7]);
    const none = new Script();
    none.handshake();
    assert.equal(none.send('c', ACK, 1, 1, 0, 72).windowScale, 0);
  });

  it('calls an RST answering a SYN a refused connection, and one mid-stream an abort', () => {
    const refused = new Script();
    refused.send('c', SYN, 0, 0);
    assert.equal(refused.send('s', RST | ACK, 0, 1).resetKind, 'refused');
    const abort = new Script();
    abort.handshake();
    abort.send('c', PSH | ACK, 1, 1, 10);
    const rst = abort.send('s', RST | ACK, 1, 11);
    assert.deepEqual([rst.phase, rst.resetKind], ['reset', 'abort']);
    assert.deepEqual(abort.connections[0]?.states, { client: 'CLOSED', server: 'CLOSED' });
  });

  it('guesses roles from the ports when the capture starts mid-stream, and says so', () => {
    const s = new Script();
    s.send('s', PSH | ACK, 1, 1, 10);
    assert.equal(s.connections[0]?.rolesGuessed, true);
    assert.equal(s.connections.at(0)?.server.port, 80);
  });

  it('starts a new connection when a port pair is reused with a new SYN', () => {
    const s = new Script();
    s.handshake();
    s.send('c', RST, 1, 0);
    const again = s.send('c', SYN, 777, 0);
    assert.equal(again.newConnection, true);
    assert.equal(again.conn.id, 1);
  });
});

describe('explain analyzer: Wireshark analysis events', () => {
  it('flags duplicate ACKs with their number, then a fast retransmission', () => {
    const s = new Script();
    s.handshake();
    s.send('c', ACK, 1, 1, 100); // 1..101
    s.send('c', ACK, 101, 1, 100); // lost in transit, say
    s.send('c', ACK, 201, 1, 100);
    s.send('s', ACK, 1, 101); // acks the first
    const d1 = s.send('s', ACK, 1, 101);
    const d2 = s.send('s', ACK, 1, 101);
    const d3 = s.send('s', ACK, 1, 101);
    assert.deepEqual(
      [d1, d2, d3].map((a) => [a.events.join(), a.dupAckNum]),
      [
        ['dup-ack', 1],
        ['dup-ack', 2],
        ['dup-ack', 3],
      ],
    );
    const fast = s.send('c', ACK, 101, 1, 100);
    assert.deepEqual(fast.events, ['fast-retransmission']);
  });

  it('tells a retransmission (late) from an out-of-order segment (soon after)', () => {
    const s = new Script();
    s.handshake();
    s.send('c', ACK, 1, 1, 100);
    s.send('c', ACK, 101, 1, 100);
    const ooo = s.send('c', ACK, 1, 1, 50, 1000, {}, 0.001); // within the handshake RTT
    assert.deepEqual(ooo.events, ['out-of-order']);
    const late = s.send('c', ACK, 101, 1, 100, 1000, {}, 0.5);
    assert.deepEqual(late.events, ['retransmission']);
  });

  it('calls a resend of already acknowledged data spurious', () => {
    const s = new Script();
    s.handshake();
    s.send('c', ACK, 1, 1, 100);
    s.send('s', ACK, 1, 101);
    const again = s.send('c', ACK, 1, 1, 100, 1000, {}, 0.3);
    assert.deepEqual(again.events, ['spurious-retransmission']);
  });

  it('notices a gap (previous segment not captured) and an ACK of unseen data', () => {
    const s = new Script();
    s.handshake();
    s.send('c', ACK, 1, 1, 100);
    const gap = s.send('c', ACK, 201, 1, 100);
    assert.deepEqual(gap.events, ['previous-segment-not-captured']);
    const unseen = s.send('s', ACK, 1, 301);
    assert.ok(unseen.events.includes('ack-unseen-segment'));
  });

  it('follows a zero window: window full, zero window, probe, probe ACK, window update', () => {
    const s = new Script();
    s.handshake();
    const full = s.send('c', ACK, 1, 1, 1000);
    assert.deepEqual(full.events, ['window-full']);
    const zero = s.send('s', ACK, 1, 1001, 0, 0);
    assert.deepEqual(zero.events, ['zero-window']);
    const probe = s.send('c', ACK, 1001, 1, 1, 1000, {}, 0.2);
    assert.deepEqual(probe.events, ['zero-window-probe']);
    const probeAck = s.send('s', ACK, 1, 1001, 0, 0);
    assert.deepEqual(probeAck.events, ['zero-window', 'zero-window-probe-ack']);
    const update = s.send('s', ACK, 1, 1001, 0, 800);
    assert.deepEqual(update.events, ['window-update']);
  });

  it('recognises a keep-alive and its ACK', () => {
    const s = new Script();
    s.handshake();
    s.send('c', ACK, 1, 1, 10);
    s.send('s', ACK, 1, 11);
    const probe = s.send('c', ACK, 10, 1, 0, 1000, {}, 30);
    assert.deepEqual(probe.events, ['keep-alive']);
    const reply = s.send('s', ACK, 1, 11);
    assert.deepEqual(reply.events, ['keep-alive-ack']);
  });

  it('counts events per connection for the summary', () => {
    const s = new Script();
    s.handshake();
    s.send('c', ACK, 1, 1, 100);
    s.send('c', ACK, 1, 1, 100, 1000, {}, 1);
    assert.equal(s.connections[0]?.counts.get('retransmission'), 1);
  });
});
