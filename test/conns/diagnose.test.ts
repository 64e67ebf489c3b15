import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diagnose, type DiagnoseContext, type Finding } from '../../src/conns/diagnose.js';
import { explainFinding } from '../../src/conns/explain-findings.js';
import { plainPaint } from '../../src/conns/paint.js';
import { renderFindings } from '../../src/conns/render-findings.js';
import { many, sock } from './helpers/make-socket.js';

function ctx(extra: Partial<DiagnoseContext> = {}): DiagnoseContext {
  return {
    portRange: { low: 32768, high: 60999 },
    sysctls: { somaxconn: 4096, tcpSyncookies: 1, tcpMaxSynBacklog: 2048, tcpTwReuse: 2 },
    counters: new Map([
      ['TcpExt.ListenOverflows', 0],
      ['TcpExt.ListenDrops', 0],
    ]),
    nowMs: 10_000,
    listeningPorts: new Set([8080]),
    ...extra,
  };
}

const codes = (findings: readonly Finding[]) => findings.map((f) => f.code);
const owner = { pid: 4242, process: 'api', owners: [{ pid: 4242, process: 'api', fd: 3 }] };

describe('gw conns diagnoses', () => {
  it('finds CLOSE_WAIT piling up in one process once it reaches --pileup, naming the process and the peers', () => {
    const sockets = many(12, (i) =>
      sock('CLOSE_WAIT', `10.0.0.5:${40000 + i}`, '10.0.0.7:5432', {
        ...owner,
        inode: i + 1,
        recvQ: i < 3 ? 10 : i < 5 ? 1 : 0,
      }),
    );
    const [finding] = diagnose(sockets, ctx(), { pileup: 10 });
    assert.ok(finding?.code === 'close-wait-pileup');
    assert.deepEqual(
      [
        finding.count,
        finding.owner.pid,
        finding.owner.process,
        finding.withUnreadData,
        finding.eofUnread,
      ],
      [12, 4242, 'api', 3, 2],
    );
    assert.deepEqual(finding.topRemote, [{ key: '10.0.0.7:5432', count: 12 }]);
    assert.deepEqual(codes(diagnose(sockets.slice(0, 9), ctx(), { pileup: 10 })), []);
  });

  it('groups CLOSE_WAIT by process: two processes below the threshold each are no pile-up', () => {
    const a = many(6, (i) =>
      sock('CLOSE_WAIT', `10.0.0.5:${40000 + i}`, '10.0.0.7:5432', { ...owner, inode: i + 1 }),
    );
    const b = many(6, (i) =>
      sock('CLOSE_WAIT', `10.0.0.5:${41000 + i}`, '10.0.0.7:5432', {
        pid: 5,
        process: 'b',
        owners: [{ pid: 5, process: 'b', fd: 1 }],
      }),
    );
    assert.deepEqual(codes(diagnose([...a, ...b], ctx(), { pileup: 10 })), []);
  });

  it('without owners, groups server-side CLOSE_WAIT by the service and counts peers by client address', () => {
    const sockets = many(10, (i) =>
      sock('CLOSE_WAIT', '10.0.0.5:8080', `192.168.0.${i % 2}:${50000 + i}`),
    );
    const [finding] = diagnose(sockets, ctx(), { pileup: 10 });
    assert.ok(finding?.code === 'close-wait-pileup');
    assert.equal(finding.owner.local, '10.0.0.5:8080');
    assert.deepEqual(finding.topRemote, [
      { key: '192.168.0.0', count: 5 },
      { key: '192.168.0.1', count: 5 },
    ]);
  });

  it('finds TIME_WAIT holding half the ephemeral port range towards one destination, critical from 90%', () => {
    const range = { low: 50000, high: 50039 };
    const tw = (n: number) =>
      many(n, (i) => sock('TIME_WAIT', `10.0.0.5:${50000 + i}`, '10.0.0.9:80', { inode: 0 }));
    assert.deepEqual(codes(diagnose(tw(19), ctx({ portRange: range }))), []);
    const [warning] = diagnose(tw(20), ctx({ portRange: range }));
    assert.ok(warning?.code === 'time-wait-exhaustion');
    assert.deepEqual(
      [warning.severity, warning.count, warning.rangeSize, warning.destination],
      ['warning', 20, 40, '10.0.0.9:80'],
    );
    assert.equal(diagnose(tw(36), ctx({ portRange: range }))[0]?.severity, 'critical');
  });

  it('counts only client-side TIME_WAIT (local port in the range) and all destinations together when none alone is near', () => {
    const range = { low: 50000, high: 50039 };
    const serverSide = many(40, (i) =>
      sock('TIME_WAIT', '10.0.0.5:8080', `10.0.0.9:${50000 + i}`, { inode: 0 }),
    );
    assert.deepEqual(codes(diagnose(serverSide, ctx({ portRange: range }))), []);
    const spread = many(24, (i) =>
      sock('TIME_WAIT', `10.0.0.5:${50000 + i}`, `10.0.0.${i % 3}:80`, { inode: 0 }),
    );
    const [any] = diagnose(spread, ctx({ portRange: range }));
    assert.ok(any?.code === 'time-wait-exhaustion');
    assert.deepEqual([any.destination, any.count], [undefined, 24]);
    assert.deepEqual(codes(diagnose(spread, ctx({}))), [], '24 of 28,232 ports is no risk');
  });

  it('finds SYN_RECV piling up on a listener, with distinct sources, SYN+ACK retries and the syncookie setting', () => {
    const sockets = many(15, (i) =>
      sock('SYN_RECV', '10.0.0.5:443', `203.0.113.${i}:${40000 + i}`, {
        inode: 0,
        retransmits: i < 5 ? 2 : 0,
      }),
    );
    const [finding] = diagnose(sockets, ctx(), { pileup: 10 });
    assert.ok(finding?.code === 'syn-recv-pileup');
    assert.deepEqual(
      [finding.count, finding.distinctSources, finding.retried, finding.tcpSyncookies],
      [15, 15, 5, 1],
    );
  });

  it('finds a full accept queue: Recv-Q on a listener with ListenOverflows counted, critical when they rise', () => {
    const listener = sock('LISTEN', '10.0.0.5:8080', '0.0.0.0:0', { recvQ: 129, ...owner });
    assert.deepEqual(
      codes(diagnose([listener], ctx())),
      [],
      'no overflows ever: a momentary queue',
    );
    const counted = ctx({
      counters: new Map([
        ['TcpExt.ListenOverflows', 7],
        ['TcpExt.ListenDrops', 7],
      ]),
    });
    const [since] = diagnose([listener], counted);
    assert.ok(since?.code === 'accept-queue-full');
    assert.deepEqual(
      [since.severity, since.queued, since.listenOverflows, since.owner],
      ['warning', 129, 7, 'api (pid 4242)'],
    );
    const rising = ctx({
      counters: new Map([
        ['TcpExt.ListenOverflows', 12],
        ['TcpExt.ListenDrops', 12],
      ]),
      previous: {
        counters: new Map([
          ['TcpExt.ListenOverflows', 7],
          ['TcpExt.ListenDrops', 7],
        ]),
        atMs: 8000,
      },
    });
    const [now] = diagnose([listener], rising);
    assert.ok(now?.code === 'accept-queue-full');
    assert.deepEqual([now.severity, now.overflowsRise, now.sinceMs], ['critical', 5, 2000]);
    assert.deepEqual(
      codes(diagnose([{ ...listener, recvQ: 0 }], rising)),
      [],
      'an empty queue is not full',
    );
    assert.deepEqual(
      codes(diagnose([listener], ctx({ counters: new Map() }))),
      [],
      'no counters (a snapshot without netstat): no evidence of overflows',
    );
    assert.deepEqual(
      codes(diagnose([{ ...listener, recvQ: 4097 }], ctx({ counters: new Map() }))),
      ['accept-queue-full'],
      'a queue longer than somaxconn allows is full whatever the counters say',
    );
  });

  it('explains each finding with its numbers in English and in Chinese', () => {
    const sockets = [
      ...many(12, (i) =>
        sock('CLOSE_WAIT', `10.0.0.5:${40000 + i}`, '10.0.0.7:5432', { ...owner, inode: i + 1 }),
      ),
      ...many(30, (i) => sock('TIME_WAIT', `10.0.0.5:${50000 + i}`, '10.0.0.9:80', { inode: 0 })),
      ...many(12, (i) => sock('SYN_RECV', '10.0.0.5:443', `203.0.113.${i}:4000`, { inode: 0 })),
      sock('LISTEN', '10.0.0.5:8080', '0.0.0.0:0', { recvQ: 3 }),
    ];
    const findings = diagnose(
      sockets,
      ctx({
        portRange: { low: 50000, high: 50039 },
        counters: new Map([['TcpExt.ListenOverflows', 3]]),
      }),
    );
    assert.deepEqual(codes(findings).sort(), [
      'accept-queue-full',
      'close-wait-pileup',
      'syn-recv-pileup',
      'time-wait-exhaustion',
    ]);
    const en = renderFindings(findings, 'en', plainPaint);
    assert.match(en, /CLOSE_WAIT piling up in api \(pid 4242\): 12 sockets/);
    assert.match(en, /application calls close\(\)/);
    const unread = diagnose(
      many(10, (i) =>
        sock('CLOSE_WAIT', `10.0.0.5:${40000 + i}`, '10.0.0.7:5432', { ...owner, recvQ: 1 }),
      ),
      ctx(),
    );
    assert.match(
      renderFindings(unread, 'en', plainPaint),
      /10 of them have not even read the end of stream \(Recv-Q 1/,
    );
    assert.match(en, /30 of the 40 local ports in ip_local_port_range 50000–50039 \(75%\)/);
    assert.match(en, /tcp_tw_reuse = 2 \(loopback only\)/);
    assert.match(en, /SYN flood/);
    assert.match(en, /accept queue of 10\.0\.0\.5:8080 is full: 3 connections/);
    const zh = renderFindings(findings, 'zh', plainPaint);
    assert.match(zh, /诊断 \(4\)/);
    assert.match(zh, /CLOSE_WAIT 堆积在 api \(pid 4242\)：12 个套接字/);
    assert.match(zh, /被动关闭方/);
    assert.match(zh, /端口耗尽/);
    assert.match(zh, /半连接队列/);
    assert.match(zh, /全连接队列/);
    for (const f of findings) {
      const t = explainFinding(f, 'zh');
      assert.ok(t.evidence.length > 0 && t.checks.length > 0 && t.meaning.length > 0);
      // Each Chinese text carries the finding's own number, not only fixed words.
      assert.ok(
        [t.title, ...t.evidence].some((line) => line.includes(String(f.count))),
        `${f.code}: ${t.title}`,
      );
    }
  });
});
