import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GW_BIN } from '../helpers/cli.js';
import { gwForUser } from '../helpers/gw-for-user.js';
import { connsJson, gw } from './helpers/gw.js';
import { hasPython, SocketLab } from './helpers/socket-lab.js';

const PYTHON = await hasPython();
const ROOT = process.getuid?.() === 0;
/** nobody: a user that owns no process of this test. */
const NOBODY = 65534;

interface Diagnosis {
  code: string;
  severity: string;
  count: number;
  owner?: { pid?: number; process?: string } | string;
  listener?: string;
  text: { title: string };
}

async function diagnoses(args: readonly string[]): Promise<Diagnosis[]> {
  const { code, stdout, stderr } = await gw(['conns', '--summary', '--json', ...args]);
  assert.equal(code, 0, stderr);
  return (JSON.parse(stdout) as { diagnoses: Diagnosis[] }).diagnoses;
}

describe('gw conns diagnoses on real sockets', () => {
  const lab = new SocketLab('127.0.0.1');
  let closeWaitPort = 0;
  before(async () => {
    closeWaitPort = await lab.closeWait(0, 12);
  });
  after(() => lab.close());

  it('names this process as the one piling up CLOSE_WAIT, without -p', async () => {
    const [finding] = await diagnoses(['--port', String(closeWaitPort)]);
    assert.equal(finding?.code, 'close-wait-pileup');
    assert.deepEqual(finding.owner, {
      uid: process.getuid?.() ?? 0,
      user: 'root',
      pid: process.pid,
      process: 'node',
    });
    assert.equal(finding.count, 12);
    const text = await gw(['conns', '--port', String(closeWaitPort), '--state', 'close_wait']);
    assert.match(
      text.stdout,
      new RegExp(`CLOSE_WAIT piling up in node \\(pid ${process.pid}\\): 12 sockets`),
    );
    assert.match(text.stdout, /the application calls close\(\)/);
    const zh = await gw(['conns', '--port', String(closeWaitPort), '--lang', 'zh']);
    assert.match(
      zh.stdout,
      new RegExp(`CLOSE_WAIT 堆积在 node \\(pid ${process.pid}\\)：12 个套接字`),
    );
  });

  it('shows the owners of CLOSE_WAIT in the summary', async () => {
    const { stdout } = await gw(['conns', '--summary', '--port', String(closeWaitPort)]);
    assert.match(
      stdout,
      new RegExp(
        `CLOSE_WAIT: 12 [^\\n]*\\n  top peers:\\s+127\\.0\\.0\\.1 ×12\\n  held by:\\s+${process.pid}/node ×12`,
      ),
    );
  });

  it(
    'finds the full accept queue of a listener that never accepts, and its owner',
    { skip: PYTHON ? false : 'python3 is not installed' },
    async () => {
      const port = await lab.synSent(3);
      const found = await diagnoses(['--port', String(port)]);
      const accept = found.find((d) => d.code === 'accept-queue-full');
      assert.ok(accept, JSON.stringify(found));
      assert.equal(accept.listener, `127.0.0.1:${port}`);
      assert.ok(typeof accept.owner === 'string');
      assert.match(accept.owner, /^python3 \(pid \d+\)$/);
      const sockets = await connsJson(['--port', String(port), '--state', 'listen,syn-sent']);
      assert.deepEqual(sockets.map((s) => [s.state, s.recvQ]).sort(), [
        ['LISTEN', 2],
        ['SYN_SENT', 0],
      ]);
    },
  );

  it('marks new (+), changed (~) and closed (-) sockets and the deltas while watching, and exits 0 on Ctrl-C', async () => {
    const { port, next } = await lab.listen();
    const child = spawn(
      process.execPath,
      [GW_BIN, 'conns', '--watch', '0.2', '--port', String(port)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    try {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
      const until = async (re: RegExp) => {
        for (let i = 0; i < 200 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 25));
        assert.match(out, re);
      };
      await until(/Every 0\.2s: gw conns/);
      const client = await lab.connect(port);
      const accepted = await next();
      await until(/^\+\s+tcp\s+ESTABLISHED /m);
      await until(/ESTABLISHED 2 \(\+2\)/);
      client.destroy(); // FIN: the client goes to FIN_WAIT2, the accepted side to CLOSE_WAIT
      await until(/^~\s+tcp\s+CLOSE_WAIT \(was ESTABLISHED\)/m);
      accepted.destroy(); // its FIN: the client lands in TIME_WAIT, the accepted side is gone
      await until(/^~\s+tcp\s+TIME_WAIT \(was FIN_WAIT2\)/m);
      await until(
        new RegExp(`^-\\s+tcp\\s+CLOSE_WAIT\\s+\\d+\\s+\\d+\\s+127\\.0\\.0\\.1:${port} `, 'm'),
      );
      child.kill('SIGINT');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it(
    '-p as an unprivileged user: other users’ processes show no owner, a note says why, exit 0',
    { skip: ROOT ? false : 'needs root to switch user' },
    async (t) => {
      // A clone in a folder nobody else may enter (/root, mktemp -d) runs from a readable copy.
      const place = await gwForUser(NOBODY);
      if ('skip' in place) {
        t.skip(place.skip);
        return;
      }
      t.after(place.cleanup);
      if (place.copied) t.diagnostic(`the checkout is closed to uid ${NOBODY}: ran ${place.bin}`);
      const { code, stdout, stderr } = await gw(
        ['conns', '-p', '--json', '--port', String(closeWaitPort)],
        { uid: NOBODY, bin: place.bin, ...(place.cwd === undefined ? {} : { cwd: place.cwd }) },
      );
      assert.equal(code, 0, stderr);
      const sockets = JSON.parse(stdout) as { pid?: number }[];
      assert.ok(sockets.length >= 24);
      assert.ok(sockets.every((s) => s.pid === undefined));
      assert.match(stderr, /process(es)? could not be inspected \(not yours\).*run as root/);
    },
  );
});

describe('gw conns -p and --pid', () => {
  it('--pid keeps only the sockets of that process', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const mine = await connsJson(['--pid', String(process.pid), '--state', 'listen']);
      assert.ok(mine.some((s) => s.local.port === port && s.pid === process.pid));
      assert.ok(mine.every((s) => s.owners?.some((o) => o.pid === process.pid)));
    } finally {
      server.close();
    }
  });
});
