import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { GwProcess, runGw } from '../helpers/cli.js';
import { connect, readBytes } from '../helpers/sockets.js';
import { curl, parseResponse } from '../helpers/curl.js';

const started: GwProcess[] = [];
after(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
});

interface Listening {
  type: 'listening';
  kind: string;
  backend: string;
  host: string;
  port: number;
}

async function startCli(args: readonly string[]): Promise<{ proc: GwProcess; event: Listening }> {
  const proc = new GwProcess(['backend', ...args, '--port', '0', '--json']);
  started.push(proc);
  const line = await proc.waitForLine((l) => l.includes('"listening"'));
  return { proc, event: JSON.parse(line) as Listening };
}

describe('gw backend (CLI)', () => {
  it('prints one listening line, logs each request, and exits 0 on SIGINT', async () => {
    const { proc, event } = await startCli(['http', '--name', 'cli-a']);
    assert.deepEqual([event.kind, event.backend, event.host], ['http', 'cli-a', '127.0.0.1']);
    const res = parseResponse((await curl(['-i', `http://127.0.0.1:${event.port}/hi`])).stdout);
    assert.equal(res.headers['x-backend'], 'cli-a');
    const logged = await proc.waitForLine((l) => l.includes('"request"'));
    assert.equal((JSON.parse(logged) as { path: string }).path, '/hi');
    const { code, signal } = await proc.stop('SIGINT');
    assert.deepEqual([code, signal], [0, null]);
  });

  it('prints a human listening line without --json, and exits 0 on SIGTERM', async () => {
    const proc = new GwProcess(['backend', 'tcp', '--port', '0', '--name', 'ct', '--banner']);
    started.push(proc);
    const line = await proc.waitForLine((l) => l.includes('listening'));
    const match = /^backend ct \(tcp\) listening on 127\.0\.0\.1:(\d+)$/.exec(line);
    assert.ok(match, line);
    const socket = await connect(Number(match[1]));
    socket.end('x');
    assert.equal((await readBytes(socket, 100)).toString(), 'hello from ct\nx');
    assert.equal((await proc.stop('SIGTERM')).code, 0);
  });

  for (const kind of ['ws', 'grpc']) {
    it(`starts the ${kind} backend and stops it cleanly`, async () => {
      const { proc, event } = await startCli([kind, '--quiet']);
      assert.equal(event.backend, `backend-${event.port}`);
      assert.equal((await proc.stop('SIGINT')).code, 0);
    });
  }

  for (const kind of ['http', 'grpc']) {
    it(`exits 1 with one GW_ERR_PORT_IN_USE line when the ${kind} port is taken`, async () => {
      const holder = net.createServer();
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      const { port } = holder.address() as net.AddressInfo;
      try {
        const { code, stderr } = await runGw(['backend', kind, '--port', `${port}`]);
        assert.equal(code, 1);
        assert.match(stderr, /GW_ERR_PORT_IN_USE/);
        assert.equal(stderr.trim().split('\n').length, 1, stderr);
      } finally {
        holder.close();
      }
    });
  }

  for (const [flag, value] of [
    ['--fail-rate', '1.5'],
    ['--fail-rate', 'often'],
    ['--latency-ms', '-5'],
    ['--port', '70000'],
  ] as const) {
    it(`exits 2 with GW_ERR_INVALID_ARGUMENT for ${flag} ${value}`, async () => {
      const { code, stderr } = await runGw(['backend', 'http', flag, value]);
      assert.equal(code, 2);
      assert.match(stderr, /GW_ERR_INVALID_ARGUMENT/);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
    });
  }

  it('exits 2 with GW_ERR_USAGE for an unknown kind', async () => {
    const { code, stderr } = await runGw(['backend', 'smtp']);
    assert.equal(code, 2);
    assert.match(stderr, /GW_ERR_USAGE/);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
  });

  it('shows examples in the help of every kind and lists itself in gw --help', async () => {
    for (const kind of ['http', 'ws', 'grpc', 'tcp']) {
      const { code, stdout } = await runGw(['backend', kind, '--help']);
      assert.equal(code, 0);
      assert.match(stdout, new RegExp(`Examples:\\n  gw backend ${kind} --port`));
    }
    const { stdout } = await runGw(['--help']);
    assert.match(stdout, /backend\s+demo\/test upstream servers/);
  });

  it('shows --port as optional in its usage, since it defaults to 0 (a free port)', async () => {
    const { code, stdout } = await runGw(['backend', '--help']);
    assert.equal(code, 0);
    assert.match(stdout, /Usage: gw backend http\|ws\|grpc\|tcp \[--port P\]/);
  });

  it('without a kind prints its help on stderr and exits 2', async () => {
    const { code, stdout, stderr } = await runGw(['backend']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /Usage: gw backend/);
  });
});
