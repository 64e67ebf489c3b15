/**
 * The WebSocket load generator: one connection (the `ws` package, no
 * compression) to an echo server. It skips the server's first message (gw's
 * ws backend says hello in a text frame), then
 *
 * 1. throughput: keeps `--inflight` binary messages of `--size` bytes
 *    unacknowledged for `--seconds`, sending one more for every echo, and
 *    counts echoes per second;
 * 2. ping-pong: one message at a time for `--pingpong-seconds`, timing each
 *    round trip (p50, p99).
 *
 * Every echo must have the size sent; a wrong one counts as an error. Prints
 * one JSON line and exits 1 when the connection failed or nothing came back.
 *
 *   node --import tsx bench/proxy/ws-load.ts --url ws://127.0.0.1:P/ [--seconds 10] [--inflight 100] [--size 1024] [--pingpong-seconds 5]
 */
import WebSocket, { type RawData } from 'ws';
import { intFlag } from '../lib/int-flag.js';
import { quantile } from '../lib/median.js';
import { stringFlag } from './flags.js';

const url = stringFlag('--url');
const seconds = intFlag('--seconds', 10);
const inflight = intFlag('--inflight', 100);
const size = intFlag('--size', 1024);
const pingSeconds = intFlag('--pingpong-seconds', 5);
const payload = Buffer.alloc(size, 0x62);

type Phase = 'hello' | 'throughput' | 'drain' | 'pingpong' | 'done';

let phase: Phase = 'hello';
let echoes = 0;
let outstanding = 0;
let errors = 0;
let throughputStart = 0;
let throughputEnd = 0;
let pingStart = 0;
let pingSent = 0n;
const rtts: number[] = [];

const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 20 });
const hardStop = setTimeout(
  () => {
    console.error(`ws-load: no end after ${seconds + pingSeconds + 30} s (phase ${phase})`);
    process.exit(1);
  },
  (seconds + pingSeconds + 30) * 1000,
);

function sizeOf(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((n, b) => n + b.length, 0);
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}

function startThroughput(): void {
  phase = 'throughput';
  throughputStart = performance.now();
  for (let i = 0; i < inflight; i++) ws.send(payload);
  outstanding = inflight;
}

function startPingPong(): void {
  phase = 'pingpong';
  pingStart = performance.now();
  pingSent = process.hrtime.bigint();
  ws.send(payload);
}

function finish(): void {
  phase = 'done';
  clearTimeout(hardStop);
  const elapsedS = (throughputEnd - throughputStart) / 1000;
  console.log(
    JSON.stringify({
      messagesPerSecond: echoes / elapsedS,
      echoes,
      pingPongs: rtts.length,
      p50Ms: rtts.length > 0 ? quantile(rtts, 0.5) : null,
      p99Ms: rtts.length > 0 ? quantile(rtts, 0.99) : null,
      errors,
    }),
  );
  ws.close(1000);
  if (echoes === 0 || rtts.length === 0) process.exitCode = 1;
}

ws.on('message', (data: RawData, isBinary: boolean) => {
  if (phase === 'hello') {
    if (isBinary) errors++;
    startThroughput();
    return;
  }
  if (!isBinary || sizeOf(data) !== size) errors++;
  const now = performance.now();
  if (phase === 'throughput' || phase === 'drain') {
    outstanding--;
    if (phase === 'throughput' && now - throughputStart < seconds * 1000) {
      echoes++;
      ws.send(payload);
      outstanding++;
      return;
    }
    if (phase === 'throughput') {
      phase = 'drain';
      throughputEnd = now;
    }
    if (outstanding === 0) startPingPong();
    return;
  }
  if (phase === 'pingpong') {
    rtts.push(Number(process.hrtime.bigint() - pingSent) / 1e6);
    if (now - pingStart >= pingSeconds * 1000) {
      finish();
      return;
    }
    pingSent = process.hrtime.bigint();
    ws.send(payload);
  }
});
ws.on('error', (err) => {
  console.error(`ws-load: ${err.message}`);
  process.exit(1);
});
ws.on('close', (code) => {
  if (phase !== 'done') {
    console.error(`ws-load: closed with ${code} during ${phase}`);
    process.exit(1);
  }
});
