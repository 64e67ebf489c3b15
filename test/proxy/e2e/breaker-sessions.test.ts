import assert from 'node:assert/strict';
import { once } from 'node:events';
import type http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { BackendEvent } from '../../../src/backend/backend-event.js';
import type { RunningBackend } from '../../../src/backend/backend-options.js';
import { startBackend } from '../../../src/backend/start-backend.js';
import { freePort, tcpTry as tryTcp } from '../../helpers/sockets.js';
import { startTestGateway, type TestGateway } from '../../helpers/proxy.js';
import { sleep, until } from '../../helpers/wait.js';

/*
 * The circuit breaker of upstreams whose exchanges are sessions: TCP
 * connections through a tcp listener, and WebSocket upgrades. Each target's
 * port refuses connections at first: after minCalls refused connects the
 * circuit opens. Then a server starts on that very port and counts what it
 * accepts: while the circuit is open, new client connections are reset at
 * once and the target accepts none (the gateway does not even try); once
 * the open period is over, half-open probes reach it, succeed, and the
 * circuit closes. A probe succeeds when its session is established: a
 * session held open past halfOpenTimeoutMs is not a hung probe.
 */

const OPEN_MS = 600;

/** For the sessions held open: their probes must not time out however long they last. */
const PROBE_TIMEOUT_MS = 300;

/** The ports the targets will listen on: refused until then. */
const ports = { db: 0, db2: 0, chat: 0 };
let gw: TestGateway;
const targets: RunningBackend[] = [];
/** Connections the tcp target `db` accepted. */
let accepted = 0;

before(async () => {
  ports.db = await freePort();
  ports.db2 = await freePort();
  ports.chat = await freePort();
  const quick = `{ failureRate: 0.5, minCalls: 2, windowMs: 10000, openMs: 200, halfOpenCalls: 1, halfOpenTimeoutMs: ${PROBE_TIMEOUT_MS} }`;
  gw = await startTestGateway(`
listeners:
  - { name: raw, protocol: tcp, listen: 127.0.0.1:0, upstream: db }
  - { name: long, protocol: tcp, listen: 127.0.0.1:0, upstream: db2 }
  - { name: web, protocol: http, listen: 127.0.0.1:0, routes: [{ match: { pathPrefix: /chat }, upstream: chat }] }
upstreams:
  - name: db
    targets: ["127.0.0.1:${ports.db}"]
    circuitBreaker: { failureRate: 0.5, minCalls: 3, windowMs: 10000, openMs: ${OPEN_MS}, halfOpenCalls: 2, halfOpenTimeoutMs: 5000 }
  - { name: db2, targets: ["127.0.0.1:${ports.db2}"], circuitBreaker: ${quick} }
  - { name: chat, targets: ["127.0.0.1:${ports.chat}"], circuitBreaker: ${quick} }
`);
});

after(async () => {
  await gw.close();
  await Promise.all(targets.map((t) => t.close()));
});

/** How a connection through listener `via` ended: its echo, or the error code (a reset). */
function tcpTry(text: string, via = 'raw'): Promise<string> {
  return tryTcp(gw.port(via), text);
}

/** The access-log lines of the tcp listener so far. */
function tcpLines(): string[] {
  return gw.log.filter((l) => l.includes(' raw tcp db '));
}

describe('circuit breaker on a tcp listener', () => {
  it('opens after minCalls refused connects, resets new connections without trying the target, and recovers', async () => {
    const failed = [await tcpTry('a'), await tcpTry('b'), await tcpTry('c')];
    assert.deepEqual(failed, ['ECONNRESET', 'ECONNRESET', 'ECONNRESET']);
    assert.ok(
      gw.log.includes(
        `upstream db: circuit open, 3 of 3 calls failed in 10 s; open for ${OPEN_MS} ms`,
      ),
      gw.log.join('\n'),
    );
    await until(() => tcpLines().length === 3, 2000, 'three log lines');
    for (const line of tcpLines()) assert.match(line, / GW_ERR_UPSTREAM_CONNECT$/);

    // The target is up now, on the same port: an open circuit must still not connect to it.
    const onEvent = (e: BackendEvent): void => {
      if (e.type === 'open') accepted++;
    };
    targets.push(await startBackend('tcp', { port: ports.db, name: 'db-1', onEvent }));
    const refused: string[] = [];
    for (let i = 0; i < 5; i++) refused.push(await tcpTry(`open-${i}`));
    assert.deepEqual(refused, Array(5).fill('ECONNRESET'));
    assert.equal(accepted, 0, 'no connect attempt reached the target while open');
    await until(() => tcpLines().length === 8, 2000, 'eight log lines');
    for (const line of tcpLines().slice(3)) {
      // No target was picked: `-` where the target goes, and the breaker's code.
      assert.match(line, / raw tcp db - up=0 down=0 .* GW_ERR_CIRCUIT_OPEN$/);
    }

    // Half-open after openMs: the two probes get through, succeed, and close the circuit.
    await sleep(OPEN_MS + 50);
    assert.equal(await tcpTry('probe-1'), 'probe-1');
    assert.equal(await tcpTry('probe-2'), 'probe-2');
    await until(
      () => gw.log.includes('upstream db: circuit closed: 2 probes succeeded'),
      2000,
      `the circuit closed\n${gw.log.join('\n')}`,
    );
    assert.ok(gw.log.includes('upstream db: circuit half-open: letting 2 probes through'));
    const after: string[] = [];
    for (let i = 0; i < 3; i++) after.push(await tcpTry(`closed-${i}`));
    assert.deepEqual(after, ['closed-0', 'closed-1', 'closed-2']);
    assert.equal(accepted, 5, 'the two probes and the three after');
  });
});

/** Opens a session through listener `via` and waits for its first echo; it stays open. */
async function heldTcp(via: string): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port: gw.port(via) });
  socket.on('error', () => undefined);
  socket.write('hold');
  await Promise.race([
    once(socket, 'data'),
    sleep(5000).then(() => {
      throw new Error('no echo within 5 s');
    }),
  ]);
  return socket;
}

/** Fails the circuit of `upstream` open with refused connects made by `fail`, then starts its target. */
async function openThenStart(
  upstream: string,
  fail: () => Promise<unknown>,
  start: () => Promise<RunningBackend>,
): Promise<void> {
  await fail();
  await fail();
  await until(
    () => gw.log.some((l) => l.startsWith(`upstream ${upstream}: circuit open, 2 of 2 calls`)),
    2000,
    `${upstream} open`,
  );
  targets.push(await start());
  await sleep(250); // past openMs: the next exchange is the probe
}

describe('a probe that is a long session', () => {
  it('tcp: closes the circuit once the target accepts the probe, while the session goes on', async () => {
    await openThenStart(
      'db2',
      () => tcpTry('x', 'long'),
      () => startBackend('tcp', { port: ports.db2, name: 'db2-1' }),
    );
    const probe = await heldTcp('long');
    try {
      await until(
        () => gw.log.includes('upstream db2: circuit closed: 1 probe succeeded'),
        2000,
        `closed while the probe session is open\n${gw.log.join('\n')}`,
      );
      await sleep(PROBE_TIMEOUT_MS + 200);
      assert.equal(await tcpTry('next', 'long'), 'next', 'served while the probe session lasts');
      assert.ok(!gw.log.some((l) => l.startsWith('upstream db2: circuit open, a half-open probe')));
    } finally {
      probe.destroy();
    }
  });

  it('WebSocket: closes the circuit once the target upgrades the probe, while the session goes on', async () => {
    const url = `ws://127.0.0.1:${gw.port('web')}/chat`;
    const refusedUpgrade = async (): Promise<number> => {
      const ws = new WebSocket(url);
      ws.on('error', () => undefined);
      const [, res] = (await once(ws, 'unexpected-response')) as [unknown, http.IncomingMessage];
      res.resume();
      return res.statusCode ?? 0;
    };
    await openThenStart('chat', refusedUpgrade, () =>
      startBackend('ws', { port: ports.chat, name: 'chat-1' }),
    );
    const opened = async (): Promise<WebSocket> => {
      const ws = new WebSocket(url);
      ws.on('error', () => undefined);
      await once(ws, 'message'); // the backend's hello
      return ws;
    };
    const probe = await opened();
    try {
      await until(
        () => gw.log.includes('upstream chat: circuit closed: 1 probe succeeded'),
        2000,
        `closed while the probe session is open\n${gw.log.join('\n')}`,
      );
      await sleep(PROBE_TIMEOUT_MS + 200);
      const next = await opened();
      next.send('still here');
      const [echo] = (await once(next, 'message')) as [Buffer];
      assert.equal(echo.toString(), 'still here');
      next.terminate();
      assert.ok(
        !gw.log.some((l) => l.startsWith('upstream chat: circuit open, a half-open probe')),
      );
    } finally {
      probe.terminate();
    }
  });
});
