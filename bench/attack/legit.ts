/**
 * The legitimate client of bench/attack, run as its own process so that the
 * attacker's event loop cannot delay it: one request at a time, one every
 * `--interval-ms` (sooner when a request took longer), each with a 2 s
 * timeout. HTTP: keep-alive GETs of `--path` (one pooled connection, a new
 * one after an error). gRPC: Unary echo calls on one @grpc/grpc-js channel.
 * Prints `ready` after its first success, runs `--seconds` from then, and
 * ends with one JSON line: ok, failed (by cause), p50/p99 of the successes.
 *
 *   node --import tsx bench/attack/legit.ts --kind http|grpc --port P [--path /100.bin]
 *     [--seconds 10] [--interval-ms 20]
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { echoClient, type EchoClient } from '../../src/backend/grpc-client.js';
import { intFlag } from '../lib/int-flag.js';
import { quantile, round } from '../lib/median.js';
import { stringFlag } from '../proxy/flags.js';

const kind = stringFlag('--kind');
const port = intFlag('--port', 1);
const path = stringFlag('--path', '/');
const seconds = intFlag('--seconds', 10);
const intervalMs = intFlag('--interval-ms', 20);
const TIMEOUT_MS = 2000;
/** How long the client tries to get its first answer before giving up. */
const READY_WITHIN_MS = 10_000;

/** One request: undefined on success, else the cause of the failure. */
type Request = () => Promise<string | undefined>;

function httpRequest(agent: http.Agent): Request {
  return () =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent, timeout: TIMEOUT_MS }, (res) => {
        res.on('data', () => undefined);
        res.once('end', () =>
          resolve(res.statusCode === 200 ? undefined : `http-${res.statusCode}`),
        );
        res.once('error', () => resolve('response-error'));
      });
      req.once('timeout', () => {
        req.destroy();
        resolve('timeout');
      });
      req.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
}

function grpcRequest(client: EchoClient): Request {
  return () =>
    new Promise((resolve) => {
      client.Unary(
        { message: 'legit' },
        new grpc.Metadata(),
        { deadline: Date.now() + TIMEOUT_MS },
        (err, reply) => {
          if (err !== null) resolve(grpc.status[err.code]);
          else resolve(reply?.message === 'legit' ? undefined : 'BAD_REPLY');
        },
      );
    });
}

async function untilReady(request: Request): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  let last: string | undefined = 'no attempt';
  // Bounded by READY_WITHIN_MS.
  while (Date.now() < deadline) {
    last = await request();
    if (last === undefined) return;
    await sleep(100);
  }
  throw new Error(`no successful request within ${READY_WITHIN_MS} ms (last: ${last})`);
}

async function main(): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const client = kind === 'grpc' ? echoClient(`127.0.0.1:${port}`) : undefined;
  const request = client === undefined ? httpRequest(agent) : grpcRequest(client);
  await untilReady(request);
  console.log('ready');
  const latencies: number[] = [];
  const failed = new Map<string, number>();
  const end = performance.now() + seconds * 1000;
  // Bounded by time: every request has a timeout, and the loop stops at `end`.
  for (let next = performance.now(); next < end; next += intervalMs) {
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
    const sent = performance.now();
    const cause = await request();
    if (cause === undefined) latencies.push(performance.now() - sent);
    else failed.set(cause, (failed.get(cause) ?? 0) + 1);
    next = Math.max(next, performance.now() - intervalMs);
  }
  agent.destroy();
  client?.close();
  const some = latencies.length > 0;
  console.log(
    JSON.stringify({
      ok: latencies.length,
      failed: [...failed.values()].reduce((a, b) => a + b, 0),
      failedBy: Object.fromEntries(failed),
      p50Ms: some ? round(quantile(latencies, 0.5)) : null,
      p99Ms: some ? round(quantile(latencies, 0.99)) : null,
    }),
  );
}

main().catch((err: unknown) => {
  console.error(`legit: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
