/**
 * The gRPC load generator: one @grpc/grpc-js channel (one HTTP/2
 * connection) to `gw.echo.v1.Echo`, `--concurrency` Unary calls always
 * outstanding for `--seconds`. Counts calls that completed with the message
 * echoed, calls that failed (by gRPC status code) and the latency of each
 * call (p50, p99). Prints one JSON line; exits 1 when no call succeeded.
 *
 *   node --import tsx bench/proxy/grpc-load.ts --address 127.0.0.1:P [--seconds 10] [--concurrency 50]
 */
import * as grpc from '@grpc/grpc-js';
import { echoClient, type EchoClient } from '../../src/backend/grpc-client.js';
import { intFlag } from '../lib/int-flag.js';
import { quantile } from '../lib/median.js';
import { stringFlag } from './flags.js';

const address = stringFlag('--address');
const seconds = intFlag('--seconds', 10);
const concurrency = intFlag('--concurrency', 50);
const CALL_DEADLINE_MS = 10_000;
const MESSAGE = 'ping';

const errorsByCode = new Map<string, number>();
const latencies: number[] = [];
let ok = 0;

function call(client: EchoClient): Promise<void> {
  const sent = process.hrtime.bigint();
  return new Promise((resolve) => {
    client.Unary(
      { message: MESSAGE },
      new grpc.Metadata(),
      { deadline: Date.now() + CALL_DEADLINE_MS },
      (err, reply) => {
        if (err !== null) {
          const code = grpc.status[err.code];
          errorsByCode.set(code, (errorsByCode.get(code) ?? 0) + 1);
        } else if (reply?.message !== MESSAGE) {
          errorsByCode.set('BAD_REPLY', (errorsByCode.get('BAD_REPLY') ?? 0) + 1);
        } else {
          ok++;
          latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
        }
        resolve();
      },
    );
  });
}

async function worker(client: EchoClient, deadline: number): Promise<void> {
  // Bounded by time: each call has its own deadline, so the loop always ends.
  while (performance.now() < deadline) await call(client);
}

async function main(): Promise<void> {
  const client = echoClient(address);
  await new Promise<void>((resolve, reject) => {
    client.waitForReady(Date.now() + 10_000, (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, () => worker(client, deadline)));
  const elapsedS = (performance.now() - start) / 1000;
  client.close();
  const errors = [...errorsByCode.values()].reduce((a, b) => a + b, 0);
  console.log(
    JSON.stringify({
      callsPerSecond: ok / elapsedS,
      ok,
      errors,
      errorsByCode: Object.fromEntries(errorsByCode),
      p50Ms: latencies.length > 0 ? quantile(latencies, 0.5) : null,
      p99Ms: latencies.length > 0 ? quantile(latencies, 0.99) : null,
    }),
  );
  if (ok === 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`grpc-load: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
