import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { palettePaint, plainPaint, type Palette } from '../../src/conns/paint.js';
import { socketsJson } from '../../src/conns/render-json.js';
import { renderSummary } from '../../src/conns/render-summary.js';
import { renderTable } from '../../src/conns/render-table.js';
import { sortSockets } from '../../src/conns/sort.js';
import { summarize } from '../../src/conns/summary.js';
import { diffSockets } from '../../src/conns/watch-diff.js';
import { many, sock } from './helpers/make-socket.js';

const table = (sockets: Parameters<typeof sortSockets>[0], extra = {}) =>
  renderTable(
    sortSockets(sockets).map((socket) => ({ socket })),
    { extended: false, process: false, marks: false, paint: plainPaint, ...extra },
  );

describe('gw conns output', () => {
  it('prints the table like ss -tan: LISTEN first, Send-Q of listeners unknown, IPv6 bracketed, port 0 as *', () => {
    const text = table([
      sock('ESTABLISHED', '10.0.0.5:22', '10.0.0.9:50000', {
        recvQ: 5,
        timer: { kind: 'keepalive', remainingMs: 7200_000 },
      }),
      sock('LISTEN', '::1:8080', ':::0', { recvQ: 2 }),
      sock('SYN_SENT', '10.0.0.5:40000', '10.0.0.9:443', {
        sendQ: 1,
        timer: { kind: 'on', remainingMs: 830 },
        retransmits: 2,
      }),
      sock('LISTEN', '::ffff:127.0.0.1:9000', ':::0'),
      { ...sock('CLOSE', '127.0.0.1:53', '0.0.0.0:0'), proto: 'udp' as const },
    ]);
    assert.deepEqual(text.split('\n'), [
      'Proto  State        Recv-Q  Send-Q  Local Address:Port       Peer Address:Port  Timer',
      'tcp6   LISTEN            2       -  [::1]:8080               [::]:*',
      'tcp6   LISTEN            0       -  [::ffff:127.0.0.1]:9000  *:*',
      'tcp    SYN_SENT          0       1  10.0.0.5:40000           10.0.0.9:443       on 830ms ×2',
      'tcp    ESTABLISHED       5       0  10.0.0.5:22              10.0.0.9:50000     keepalive 2h00m',
      'udp    UNCONN            0       0  127.0.0.1:53             0.0.0.0:*',
    ]);
  });

  it('colours states on a terminal and never puts colour codes in plain output', () => {
    const tag = (name: string) => (t: string) => `<${name}>${t}</${name}>`;
    const palette: Palette = {
      green: tag('g'),
      red: tag('r'),
      yellow: tag('y'),
      cyan: tag('c'),
      magenta: tag('m'),
      gray: tag('d'),
      bold: tag('b'),
    };
    const coloured = renderTable([{ socket: sock('CLOSE_WAIT', '1.1.1.1:1', '2.2.2.2:2') }], {
      extended: false,
      process: false,
      marks: false,
      paint: palettePaint(palette),
    });
    assert.match(coloured, /<r>CLOSE_WAIT<\/r>/);
    assert.match(coloured, /<b>Proto\s*<\/b>/);
    assert.ok(!table([sock('CLOSE_WAIT', '1.1.1.1:1', '2.2.2.2:2')]).includes('\u001b['));
  });

  it('writes JSON with the contract fields, one socket per line', () => {
    const s = sock('CLOSE_WAIT', '127.0.0.1:8080', '127.0.0.1:5000', {
      recvQ: 3,
      user: 'alice',
      pid: 9,
      process: 'node "x"',
      owners: [{ pid: 9, process: 'node "x"', fd: 4 }],
    });
    const text = socketsJson([
      s,
      sock('TIME_WAIT', '::1:1', '::1:2', {
        inode: 0,
        timer: { kind: 'timewait', remainingMs: 59000 },
      }),
    ]);
    assert.equal(text.split('\n').length, 5);
    const [a, b] = JSON.parse(text) as Record<string, unknown>[];
    assert.deepEqual(a, {
      proto: 'tcp',
      family: 4,
      state: 'CLOSE_WAIT',
      local: { address: '127.0.0.1', port: 8080 },
      remote: { address: '127.0.0.1', port: 5000 },
      recvQ: 3,
      sendQ: 0,
      timer: null,
      retransmits: 0,
      probes: 0,
      uid: 1000,
      user: 'alice',
      inode: 1,
      pid: 9,
      process: 'node "x"',
      owners: [{ pid: 9, process: 'node "x"', fd: 4 }],
    });
    assert.deepEqual(b?.timer, { kind: 'timewait', remainingMs: 59000 });
    assert.equal(socketsJson([]), '[]\n');
    // Numbers no table holds (a hand-made socket) still make valid JSON.
    const odd = sock('ESTABLISHED', '127.0.0.1:1', '127.0.0.1:2', { uid: -1, inode: Number.NaN });
    const parsed = JSON.parse(socketsJson([odd])) as { uid: number; inode: unknown }[];
    assert.deepEqual([parsed[0]?.uid, parsed[0]?.inode], [-1, null]);
  });

  it('summarises counts by state and protocol, orphans, and who is behind CLOSE_WAIT and TIME_WAIT', () => {
    const sockets = [
      sock('LISTEN', '10.0.0.5:8080', '0.0.0.0:0'),
      ...many(3, (i) =>
        sock('CLOSE_WAIT', '10.0.0.5:8080', `192.168.0.1:${5000 + i}`, {
          pid: 7,
          process: 'api',
          owners: [{ pid: 7, process: 'api', fd: i }],
        }),
      ),
      sock('CLOSE_WAIT', '10.0.0.5:40000', '10.0.0.7:5432'),
      ...many(4, (i) => sock('TIME_WAIT', `10.0.0.5:${50000 + i}`, '10.0.0.9:80', { inode: 0 })),
      sock('TIME_WAIT', '10.0.0.5:8080', '192.168.0.2:6000', { inode: 0 }),
      sock('LAST_ACK', '::1:8080', '::1:6000', { inode: 0 }),
      { ...sock('ESTABLISHED', '::1:53', '::1:5353'), proto: 'udp' as const },
    ];
    const summary = summarize(sockets, new Set([8080]));
    assert.deepEqual([summary.total, summary.tcp, summary.udp, summary.orphans], [12, 11, 1, 1]);
    assert.deepEqual(
      summary.states.map((r) => `${r.state} ${r.tcp4}/${r.tcp6}/${r.udp4}/${r.udp6}`),
      [
        'LISTEN 1/0/0/0',
        'ESTABLISHED 0/0/0/1',
        'TIME_WAIT 5/0/0/0',
        'CLOSE_WAIT 4/0/0/0',
        'LAST_ACK 0/1/0/0',
      ],
    );
    assert.deepEqual(summary.closeWait.topRemote, [
      { key: '192.168.0.1', count: 3 },
      { key: '10.0.0.7:5432', count: 1 },
    ]);
    assert.deepEqual(summary.closeWait.topOwners, [
      { key: '7/api', count: 3 },
      { key: '-', count: 1 },
    ]);
    assert.deepEqual(summary.timeWait.topLocal, [
      { key: '10.0.0.5 (client ports)', count: 4 },
      { key: '10.0.0.5:8080', count: 1 },
    ]);
    const text = renderSummary(summary, 'en', plainPaint);
    assert.match(text, /Total: 12 sockets \(TCP 11, UDP 1\)/);
    assert.match(text, /CLOSE_WAIT: 4 /);
    assert.match(text, /held by:\s+7\/api ×3, - ×1/);
    assert.match(text, /TIME_WAIT: 5 \(no process holds them/);
    assert.match(renderSummary(summary, 'zh', plainPaint), /共 12 个套接字/);
  });

  it('tells what changed between two refreshes: new, closed, changed state, and each state’s delta', () => {
    const a = sock('ESTABLISHED', '127.0.0.1:40000', '127.0.0.1:80');
    const b = sock('ESTABLISHED', '127.0.0.1:40001', '127.0.0.1:80');
    const c = sock('ESTABLISHED', '127.0.0.1:40002', '127.0.0.1:80');
    const first = diffSockets(undefined, [a, b]);
    assert.deepEqual(
      [first.added.length, first.removed.length, first.rows.map((r) => r.mark)],
      [0, 0, [undefined, undefined]],
    );
    const next = diffSockets([a, b], [{ ...a, state: 'CLOSE_WAIT' }, c]);
    assert.deepEqual(next.added, [c]);
    assert.deepEqual(next.removed, [b]);
    assert.deepEqual(
      next.changed.map((x) => x.from),
      ['ESTABLISHED'],
    );
    assert.deepEqual(next.states, [
      { state: 'ESTABLISHED', count: 1, delta: -1 },
      { state: 'CLOSE_WAIT', count: 1, delta: 1 },
    ]);
    const marked = renderTable(next.rows, {
      extended: false,
      process: false,
      marks: true,
      paint: plainPaint,
    });
    assert.match(marked, /^~\s+tcp\s+CLOSE_WAIT \(was ESTABLISHED\)/m);
    assert.match(marked, /^\+\s+tcp\s+ESTABLISHED .*:40002/m);
    assert.match(marked, /^-\s+tcp\s+ESTABLISHED .*:40001/m);
  });
});
