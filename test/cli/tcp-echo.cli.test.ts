import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { GW_BIN, GwProcess, runGw, startEchoServerProcess } from '../helpers/cli.js';
import { closed, connect, freePort, readBytes, startPeer } from '../helpers/sockets.js';

const started: GwProcess[] = [];
after(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
});

async function server(extra: readonly string[] = []): Promise<number> {
  const { server: proc, port } = await startEchoServerProcess(extra);
  started.push(proc);
  return port;
}

interface BurstJson {
  messagesSent: number;
  messagesReceived: number;
  mismatches: number;
  writes: number;
  reads: number;
  stickyReads: number;
  splitReads: number;
}

/** Runs `gw tcp-echo client --port PORT ARGS`. */
function echoClient(port: number, args: readonly string[], options: { input?: string } = {}) {
  return runGw(['tcp-echo', 'client', '--port', `${port}`, ...args], options);
}

function burstJson(stdout: string): BurstJson {
  const line = stdout
    .trim()
    .split('\n')
    .find((l) => l.includes('"burst"'));
  assert.ok(line, `no burst summary in: ${stdout}`);
  return JSON.parse(line) as BurstJson;
}

const NC_MISSING = (await hasNc()) ? false : 'nc is not installed (apt-get install netcat-openbsd)';

describe('gw tcp-echo (CLI)', () => {
  for (const framing of [
    ['--framing', 'line'],
    ['--framing', 'line', '--delimiter', '\\r\\n'],
    ['--framing', 'length', '--length-bytes', '2'],
    ['--framing', 'fixed', '--frame-size', '20'],
    ['--framing', 'raw'],
  ]) {
    it(`a burst with ${framing.join(' ')} comes back intact and in order`, async () => {
      const port = await server(framing);
      const { code, stdout, stderr } = await echoClient(port, [
        ...framing,
        '--burst',
        '300',
        '--json',
      ]);
      assert.equal(code, 0, stderr);
      const result = burstJson(stdout);
      assert.deepEqual(
        [result.messagesSent, result.messagesReceived, result.mismatches, result.writes],
        [300, 300, 0, 300],
      );
    });
  }

  it('the lab shows the bug and the three fixes, every framed scenario getting every message back', async () => {
    const { code, stdout, stderr } = await runGw([
      'tcp-echo',
      'lab',
      '--count',
      '20',
      '--size',
      '30',
      '--json',
    ]);
    assert.equal(code, 0, stderr);
    const lab = JSON.parse(stdout) as {
      runs: { framing: string; readBytes?: number; result: BurstJson }[];
    };
    assert.deepEqual(
      lab.runs.map((r) => r.framing),
      ['raw', 'raw', 'length', 'fixed', 'line'],
    );
    const cut = lab.runs[1];
    assert.equal(cut?.readBytes, 20);
    assert.equal(cut.result.splitReads, cut.result.reads);
    assert.ok(cut.result.reads >= 30, `reads ${cut.result.reads}`);
    for (const run of lab.runs.slice(2)) {
      assert.deepEqual([run.result.messagesReceived, run.result.mismatches], [20, 0], run.framing);
    }
  });

  it('--split sends every message as two writes and still gets each back whole', async () => {
    const port = await server(['--framing', 'length']);
    const { code, stdout } = await echoClient(port, [
      '--framing',
      'length',
      '--burst',
      '20',
      '--split',
      '--split-delay-ms',
      '2',
      '--json',
    ]);
    assert.equal(code, 0);
    const result = burstJson(stdout);
    assert.deepEqual([result.writes, result.messagesReceived, result.mismatches], [40, 20, 0]);
  });

  it('--read-bytes smaller than a message makes every read split', async () => {
    const port = await server(['--framing', 'raw']);
    const { code, stdout } = await echoClient(port, [
      '--framing',
      'raw',
      '--burst',
      '10',
      '--size',
      '16',
      '--read-bytes',
      '10',
      '--json',
    ]);
    assert.equal(code, 0);
    const result = burstJson(stdout);
    assert.ok(result.reads >= 16, `reads ${result.reads}`);
    assert.equal(result.splitReads, result.reads);
  });

  it('the text summary of a raw burst names sticky and split reads', async () => {
    const port = await server(['--framing', 'raw']);
    const { code, stdout } = await echoClient(port, ['--framing', 'raw', '--burst', '50']);
    assert.equal(code, 0);
    assert.match(stdout, /client writes\s+50/);
    assert.match(stdout, /bytes echoed\s+800 of 800/);
    assert.doesNotMatch(stdout, /messages received/);
    assert.match(stdout, /sticky reads\s+\d+/);
    assert.match(stdout, /split reads\s+\d+/);
    assert.match(stdout, /naive reader/);
  });

  it('counts sticky reads when the echoes arrive merged', async () => {
    // A peer that answers only once it has everything, in one write: the client sees merged reads.
    const peer = await startPeer((socket) => {
      const chunks: Buffer[] = [];
      let total = 0;
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        total += c.length;
        if (total === 50 * 16) socket.end(Buffer.concat(chunks));
      });
    });
    const { code, stdout } = await echoClient(peer.port, [
      '--framing',
      'raw',
      '--burst',
      '50',
      '--json',
    ]);
    peer.close();
    assert.equal(code, 0);
    const result = burstJson(stdout);
    assert.ok(result.stickyReads >= 1 && result.reads < 50, JSON.stringify(result));
  });

  it('exits 1 with GW_ERR_ECHO_MISMATCH when an echo comes back altered', async () => {
    const peer = await startPeer((socket) => {
      socket.on('data', (c: Buffer) =>
        socket.write(Buffer.from(c.toString('latin1').replace(/3:/g, '3!'), 'latin1')),
      );
    });
    const { code, stdout, stderr } = await echoClient(peer.port, ['--burst', '10']);
    peer.close();
    assert.equal(code, 1);
    assert.match(stderr, /GW_ERR_ECHO_MISMATCH/);
    assert.match(stdout, /first mismatch\s+#3/);
  });

  it('ends with one GW_ERR_FRAME_TOO_LARGE line, not a crash, when the peer is not speaking the framing', async () => {
    // A banner line read with a 4-byte length header announces a frame of over a gigabyte.
    const peer = await startPeer((socket) => socket.end('hello from b\n'));
    for (const input of [undefined, 'hi\nq\n']) {
      const args = ['--framing', 'length', ...(input === undefined ? ['--burst', '3'] : [])];
      const { code, stderr } = await echoClient(
        peer.port,
        args,
        input === undefined ? {} : { input },
      );
      assert.equal(code, 2, stderr);
      assert.match(stderr, /GW_ERR_FRAME_TOO_LARGE/);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
    }
    peer.close();
  });

  it('exits 1 with one clear line when nothing listens', async () => {
    const port = await freePort();
    const { code, stderr } = await echoClient(port, ['--burst', '1']);
    assert.equal(code, 1);
    assert.match(stderr, /GW_ERR_CONNECT_REFUSED/);
    assert.equal(stderr.trim().split('\n').length, 1);
  });

  it('exits 1 when the server resets the connection mid-burst', async () => {
    const peer = await startPeer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    const { code, stderr } = await echoClient(peer.port, ['--burst', '100']);
    peer.close();
    assert.equal(code, 1);
    assert.match(stderr, /GW_ERR_CONNECTION_RESET/);
  });

  it('reads piped lines, prints each echo, and stops at q', async () => {
    const port = await server();
    const { code, stdout } = await echoClient(port, [], { input: 'hello\nworld\nq\nnever sent\n' });
    assert.equal(code, 0);
    assert.match(stdout, /echo: "hello"/);
    assert.match(stdout, /echo: "world"/);
    assert.doesNotMatch(stdout, /never sent/);
    assert.match(stdout, /bye: 2 messages sent, 2 echoes received/);
  });

  it('works as a line server for nc', { skip: NC_MISSING }, async () => {
    const port = await server();
    const out = await new Promise<string>((resolve, reject) => {
      const nc = spawn('nc', ['-N', '127.0.0.1', `${port}`]);
      let text = '';
      nc.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
      nc.on('error', reject);
      nc.on('close', () => resolve(text));
      nc.stdin.end('from nc\nsecond line\n');
    });
    assert.equal(out, 'from nc\nsecond line\n');
  });

  it('refuses an oversized frame with GW_ERR_FRAME_TOO_LARGE on stderr and keeps running', async () => {
    const { server: proc, port } = await startEchoServerProcess([
      '--framing',
      'length',
      '--max-frame-bytes',
      '1k',
    ]);
    started.push(proc);
    const bad = await connect(port);
    bad.on('error', () => undefined);
    bad.write(Buffer.from([0, 0, 0x10, 0]));
    await closed(bad);
    await proc.waitForLine((l) => l.includes('GW_ERR_FRAME_TOO_LARGE'));
    const good = await connect(port);
    good.write(Buffer.from([0, 0, 0, 2, 0x68, 0x69]));
    assert.equal((await readBytes(good, 6)).subarray(4).toString(), 'hi');
    good.end();
  });

  it('reports reads as text: bytes, messages and carried bytes', async () => {
    const { GwProcess } = await import('../helpers/cli.js');
    const port = await freePort();
    const proc = new GwProcess(['tcp-echo', 'server', '--port', `${port}`]);
    started.push(proc);
    await proc.waitForLine((l) => l.startsWith('listening on'));
    const socket = await connect(port);
    socket.write('abc\nde');
    await proc.waitForLine((l) =>
      l.includes('read #1: 6 bytes → 1 message + 2 bytes carried (split): "abc"'),
    );
    socket.end('f\n');
    await proc.waitForLine((l) => l.includes('read #2: 2 bytes → 1 message: "def"'));
    await proc.waitForLine((l) => l.includes('closed by the peer (FIN)'));
    const { code } = await proc.stop('SIGINT');
    assert.equal(code, 0);
    assert.ok(proc.lines.some((l) => l.startsWith('summary: 1 connection, 2 reads, 2 messages')));
  });

  it('Ctrl-C closes the listener and ends open connections cleanly, exit 0', async () => {
    const { server: proc, port } = await startEchoServerProcess();
    const socket = await connect(port);
    // Wait until the server has accepted it: a connection still in the accept queue is reset at close.
    await proc.waitForLine((l) => l.includes('"connect"'));
    const ended = new Promise<void>((resolve) => socket.once('end', resolve));
    socket.on('end', () => socket.end());
    const result = await proc.stop('SIGINT');
    await ended;
    assert.equal(result.code, 0);
    assert.ok(proc.lines.some((l) => l.includes('"summary"')));
    await assert.rejects(connect(port));
  });

  it('exits 1 with one line naming the address when the port is in use', async () => {
    const port = await server();
    const { code, stderr } = await runGw(['tcp-echo', 'server', '--port', `${port}`]);
    assert.equal(code, 1);
    assert.match(stderr, /GW_ERR_PORT_IN_USE/);
    assert.match(stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.equal(stderr.trim().split('\n').length, 1);
  });

  for (const [args, code] of [
    [['server', '--framing', 'json'], 'GW_ERR_USAGE'],
    [['server', '--framing', 'length', '--length-bytes', '3'], 'GW_ERR_INVALID_ARGUMENT'],
    [['server', '--port', '70000'], 'GW_ERR_INVALID_ARGUMENT'],
    [['server', '--delimiter', '\\q'], 'GW_ERR_INVALID_ARGUMENT'],
    [
      ['client', '--framing', 'fixed', '--frame-size', '8', '--burst', '1', '--size', '16'],
      'GW_ERR_BAD_MESSAGE',
    ],
    [['client', '--burst', 'many'], 'GW_ERR_INVALID_ARGUMENT'],
    // Checked before connecting: nothing listens on the default port, and that must not matter.
    [['client', '--burst', '3', '--timeout-ms', 'soon'], 'GW_ERR_INVALID_ARGUMENT'],
    [['client', '--burst', '3', '--split', '--split-delay-ms', '-1'], 'GW_ERR_INVALID_ARGUMENT'],
    [['client', '--bogus'], 'GW_ERR_USAGE'],
  ] as const) {
    it(`exits 2 with ${code} for: ${args.join(' ')}`, async () => {
      const result = await runGw(['tcp-echo', ...args]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, new RegExp(code));
      assert.equal(result.stderr.trim().split('\n').length, 1);
    });
  }

  it('shows Chinese text as text on both sides, not as escaped bytes', async () => {
    const port = await server();
    const { code, stdout } = await echoClient(port, [], { input: '你好\n' });
    assert.equal(code, 0);
    assert.match(stdout, /sent 7 bytes: "你好"/);
    assert.match(stdout, /echo: "你好"/);
    assert.doesNotMatch(stdout, /\\xe4/);
    // Bytes that are not UTF-8 are sent exactly as piped, and only they are escaped.
    const bin = await pipeBytes(port, Buffer.from([0xff, 0x41, 0x0a]));
    assert.match(bin, /sent 3 bytes: "\\xffA"/);
    assert.match(bin, /echo: "\\xffA"/);
    // The server's text log (not --json) shows it too.
    const textServer = new GwProcess(['tcp-echo', 'server', '--port', '0']);
    started.push(textServer);
    const listening = await textServer.waitForLine((l) => l.startsWith('listening on'));
    const textPort = Number(/:(\d+),/.exec(listening)?.[1]);
    const socket = await connect(textPort);
    socket.end('你好\n');
    await textServer.waitForLine((l) => l.includes('→ 1 message: "你好"'));
  });

  it('exits 2 with GW_ERR_BAD_MESSAGE when a typed line does not fit a fixed frame', async () => {
    const fixed = ['--framing', 'fixed', '--frame-size', '4'];
    const port = await server(fixed);
    const { code, stdout, stderr } = await echoClient(port, fixed, {
      input: 'ok\nmuch too long\n',
    });
    assert.equal(code, 2, stderr);
    assert.match(stdout, /echo: "ok"/);
    assert.match(stderr, /GW_ERR_BAD_MESSAGE/);
    assert.match(stderr, /1 of 2 lines were not sent/);
  });

  for (const [what, serverArgs, clientArgs] of [
    [
      '--length-bytes 4 against 2',
      ['--framing', 'length', '--length-bytes', '2'],
      ['--framing', 'length', '--length-bytes', '4'],
    ],
    [
      '--frame-size 64 against 32',
      ['--framing', 'fixed', '--frame-size', '32'],
      ['--framing', 'fixed', '--frame-size', '64'],
    ],
    [
      '--frame-size 32 against 64',
      ['--framing', 'fixed', '--frame-size', '64'],
      ['--framing', 'fixed', '--frame-size', '32'],
    ],
  ] as const) {
    it(`the server warns once of a framing mismatch: client ${what}`, async () => {
      const { server: proc, port } = await startEchoServerProcess(serverArgs);
      started.push(proc);
      const { code } = await echoClient(port, [...clientArgs, '--burst', '20']);
      // The echo comes back byte for byte, so the client cannot see it: the server must say it.
      assert.equal(code, 0);
      await proc.waitForLine((l) => l.includes('"close"'));
      assert.equal(proc.lines.filter((l) => l.includes('"framing-mismatch"')).length, 1);
    });
  }

  it('stays quiet about framing when both sides agree', async () => {
    const { server: proc, port } = await startEchoServerProcess(['--framing', 'length']);
    started.push(proc);
    const { code } = await echoClient(port, ['--framing', 'length', '--burst', '50']);
    assert.equal(code, 0);
    await proc.waitForLine((l) => l.includes('"close"'));
    assert.ok(!proc.lines.some((l) => l.includes('framing-mismatch')));
  });

  it("names nc's text when it sends into a length-framed server", async () => {
    const { server: proc, port } = await startEchoServerProcess(['--framing', 'length']);
    started.push(proc);
    const socket = await connect(port);
    socket.on('error', () => undefined);
    socket.write('hello\n');
    await closed(socket);
    const line = await proc.waitForLine((l) => l.includes('GW_ERR_FRAME_TOO_LARGE'));
    assert.match(line, /same framing/);
    assert.match(line, /'hell'/);
  });

  it('the lab names the read buffer of every row and explains --size 1', async () => {
    const { code, stdout } = await runGw(['tcp-echo', 'lab', '--count', '10', '--size', '24']);
    assert.equal(code, 0);
    assert.match(stdout, /fix 1: length header, 16-byte reads/);
    assert.match(stdout, /counted on the client/);
    const one = await runGw(['tcp-echo', 'lab', '--count', '10', '--size', '1']);
    assert.equal(one.code, 0);
    assert.doesNotMatch(one.stdout, /reads cut messages/);
    assert.match(one.stdout, /--size 2 or more/);
    const zh = await runGw(['tcp-echo', 'lab', '--count', '10', '--lang', 'zh']);
    assert.match(zh.stdout, /解法 1：长度头/);
  });

  it('a --nodelay burst explains what its read count means', async () => {
    const port = await server(['--framing', 'raw']);
    const { code, stdout } = await echoClient(port, [
      '--framing',
      'raw',
      '--burst',
      '50',
      '--nodelay',
    ]);
    assert.equal(code, 0);
    assert.match(stdout, /--nodelay turned Nagle off/);
  });

  it('without a subcommand prints its help on stderr and exits 2, like gw and gw backend', async () => {
    for (const args of [['tcp-echo'], ['backend'], []]) {
      const { code, stdout, stderr } = await runGw(args);
      assert.equal(code, 2, args.join(' '));
      assert.equal(stdout, '');
      assert.match(stderr, /Usage: gw/);
    }
  });
});

/** Pipes raw bytes (not necessarily UTF-8) into `gw tcp-echo client` and resolves with its stdout. */
function pipeBytes(port: number, input: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GW_BIN, 'tcp-echo', 'client', '--port', `${port}`], {
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', () => resolve(out));
    child.stdin.end(input);
  });
}

async function hasNc(): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = spawn('nc', ['-h']);
    probe.on('error', () => resolve(false));
    probe.on('close', () => resolve(true));
  });
}
