import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { endpointText, remoteText } from '../../src/conns/endpoint-text.js';
import { stateFromSsName } from '../../src/conns/states.js';
import type { ConnSocket } from '../../src/conns/types.js';
import { connsJson, type JsonSocket } from './helpers/gw.js';
import { hasPython, SocketLab } from './helpers/socket-lab.js';
import { capture, parseSs, type SsRow } from './helpers/ss-output.js';

const PYTHON = await hasPython();
const SS_TIMER: Readonly<Record<string, string>> = { persist: 'probe' };

interface Seen {
  state: string;
  recvQ: number;
  sendQ: number;
  timer: string | null;
}

const touches = (ports: ReadonlySet<number>, local: number, remote: number) =>
  ports.has(local) || ports.has(remote);

function port(endpoint: string): number {
  const p = endpoint.slice(endpoint.lastIndexOf(':') + 1);
  return p === '*' ? 0 : Number(p);
}

function fromGw(sockets: readonly JsonSocket[], ports: ReadonlySet<number>): Map<string, Seen> {
  const seen = new Map<string, Seen>();
  for (const s of sockets) {
    if (!touches(ports, s.local.port, s.remote.port)) continue;
    seen.set(`${s.proto} ${endpointText(s.local)} ${remoteText(s as unknown as ConnSocket)}`, {
      state: s.state,
      recvQ: s.recvQ,
      sendQ: s.state === 'LISTEN' ? -1 : s.sendQ,
      timer: s.timer?.kind ?? null,
    });
  }
  return seen;
}

function fromSs(rows: readonly SsRow[], ports: ReadonlySet<number>): Map<string, Seen> {
  const seen = new Map<string, Seen>();
  for (const r of rows) {
    if (!touches(ports, port(r.local), port(r.remote))) continue;
    const state = r.state === 'UNCONN' ? 'CLOSE' : (stateFromSsName(r.state) ?? r.state);
    seen.set(`${r.netid} ${r.local} ${r.remote}`, {
      state,
      recvQ: r.recvQ,
      sendQ: state === 'LISTEN' ? -1 : r.sendQ,
      timer: r.timer === undefined ? null : (SS_TIMER[r.timer.kind] ?? r.timer.kind),
    });
  }
  return seen;
}

/** gw conns --json and ss -tano, started together. */
async function bothViews(ports: ReadonlySet<number>) {
  const [gw, ss] = await Promise.all([connsJson([]), capture('ss', ['-tano'])]);
  return { gw: fromGw(gw, ports), ss: fromSs(parseSs(ss, 'tcp'), ports), raw: gw };
}

for (const host of ['127.0.0.1', '::1']) {
  describe(`gw conns on real sockets over ${host}, against ss -tano`, () => {
    const lab = new SocketLab(host);
    const expected = new Set([
      'LISTEN',
      'ESTABLISHED',
      'CLOSE_WAIT',
      'FIN_WAIT2',
      'TIME_WAIT',
      'LAST_ACK',
      'FIN_WAIT1',
      'CLOSING',
    ]);
    before(async () => {
      await lab.established();
      await lab.closeWait();
      await lab.timeWait();
      await lab.lastAck();
      await lab.finWait1();
      await lab.closing();
      if (PYTHON) {
        await lab.synSent(3);
        expected.add('SYN_SENT');
      }
    });
    after(() => lab.close());

    it('lists the same sockets in the same states, queues and timers as ss at the same moment', async () => {
      const { gw, ss } = await bothViews(lab.ports);
      assert.deepEqual([...gw.keys()].sort(), [...ss.keys()].sort());
      for (const [key, view] of gw) assert.deepEqual(view, ss.get(key), key);
      assert.deepEqual(new Set([...gw.values()].map((v) => v.state)), expected);
    });

    it('reaches every state it set up, with the timers the kernel runs in them', async () => {
      // Timers are the kernel's state at one instant: under load a snapshot can fall between
      // two of them, so up to five snapshots 100 ms apart are taken until one shows them all.
      let mine: Awaited<ReturnType<typeof bothViews>>['raw'] = [];
      const timerOf = (state: string) =>
        new Set(mine.filter((s) => s.state === state).map((s) => s.timer?.kind ?? null));
      const allSeen = (): boolean =>
        timerOf('TIME_WAIT').has('timewait') &&
        timerOf('LAST_ACK').has('probe') &&
        timerOf('ESTABLISHED').has('keepalive');
      for (let attempt = 0; attempt < 5; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 100));
        const { raw } = await bothViews(lab.ports);
        mine = raw.filter((s) => touches(lab.ports, s.local.port, s.remote.port));
        if (allSeen()) break;
      }
      assert.ok(timerOf('TIME_WAIT').has('timewait'));
      assert.ok(timerOf('LAST_ACK').has('probe'), 'the FIN waits behind a zero window');
      assert.ok(timerOf('ESTABLISHED').has('keepalive'));
      if (PYTHON) assert.deepEqual(timerOf('SYN_SENT'), new Set(['on']));
      assert.ok(mine.every((s) => s.family === (host.includes(':') ? 6 : 4)));
    });

    it('-p names the owning processes: this test (node) and the python3 listener; TIME_WAIT has none', async () => {
      const sockets = await connsJson(['-p', '--port', [...lab.ports].join(',')]);
      const byState = (state: string) => sockets.filter((s) => s.state === state);
      assert.ok(byState('CLOSE_WAIT').every((s) => s.pid === process.pid && s.process === 'node'));
      assert.ok(byState('TIME_WAIT').every((s) => s.pid === undefined && s.inode === 0));
      if (PYTHON) {
        const listeners = byState('LISTEN').filter((s) => s.process === 'python3');
        assert.equal(listeners.length, 1, 'the listener that never accepts belongs to python3');
      }
    });
  });
}

describe('gw conns on IPv4-mapped sockets and UDP', () => {
  const mapped = new SocketLab('::ffff:127.0.0.1');
  before(() => mapped.established());
  after(() => mapped.close());

  it('shows IPv4 peers of IPv6 sockets as ss does, [::ffff:127.0.0.1], in the tcp6 table', async () => {
    const { gw, ss } = await bothViews(mapped.ports);
    assert.deepEqual([...gw.keys()].sort(), [...ss.keys()].sort());
    assert.ok([...gw.keys()].some((k) => k.includes('[::ffff:127.0.0.1]:')));
    assert.ok(
      [...gw.keys()].some((k) => k.endsWith(' *:*')),
      'the mapped listener’s peer is *:*',
    );
    const v4 = await connsJson([
      '-6',
      '--local',
      '127.0.0.0/8',
      '--port',
      [...mapped.ports].join(','),
    ]);
    assert.equal(v4.length, 3, 'an IPv4 block finds the mapped sockets');
  });

  it('lists UDP sockets with -u like ss -uan, UNCONN as CLOSE', async () => {
    const dgram = await import('node:dgram');
    const a = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => a.bind(0, '127.0.0.1', resolve));
    const b = dgram.createSocket('udp6');
    await new Promise<void>((resolve) => b.bind(0, '::1', resolve));
    b.connect(a.address().port, '::1');
    await new Promise((resolve) => b.once('connect', resolve));
    try {
      const ports = new Set([a.address().port, b.address().port]);
      const [gwList, ssText] = await Promise.all([connsJson(['-u']), capture('ss', ['-uan'])]);
      const gw = fromGw(gwList, ports);
      const ss = fromSs(parseSs(ssText, 'udp'), ports);
      assert.deepEqual([...gw.keys()].sort(), [...ss.keys()].sort());
      assert.deepEqual([...gw.values()].map((v) => v.state).sort(), ['CLOSE', 'ESTABLISHED']);
      assert.ok(gwList.every((s) => s.proto === 'udp'));
    } finally {
      a.close();
      b.close();
    }
  });
});
