/**
 * The TCP client of the bulk-transfer case: connects, reads everything into
 * one reused 1 MiB buffer (no allocation per read) and counts it, until the
 * FIN. Prints one JSON line `{ bytes, seconds, gbPerSecond }`, timed from the
 * connection being established to the FIN. Exits 1 when the byte count is not
 * `--bytes` (a proxy that drops or cuts data does not pass as fast).
 *
 *   node --import tsx bench/proxy/tcp-sink.ts --port P --bytes N [--timeout-ms MS]
 */
import net from 'node:net';
import { intFlag } from '../lib/int-flag.js';

const port = intFlag('--port', 1);
const expected = intFlag('--bytes', 2 ** 31);
const timeoutMs = intFlag('--timeout-ms', 120_000);

let received = 0;
let started = 0n;
const socket = net.connect({
  host: '127.0.0.1',
  port,
  onread: {
    buffer: Buffer.allocUnsafe(1 << 20),
    callback: (n: number) => {
      received += n;
      return true;
    },
  },
});
const timer = setTimeout(() => {
  console.error(`tcp-sink: timed out after ${timeoutMs} ms with ${received} of ${expected} bytes`);
  process.exit(1);
}, timeoutMs);
socket.once('connect', () => {
  started = process.hrtime.bigint();
});
socket.once('end', () => {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearTimeout(timer);
  console.log(JSON.stringify({ bytes: received, seconds, gbPerSecond: received / seconds / 1e9 }));
  if (received !== expected) {
    console.error(`tcp-sink: received ${received} bytes, expected ${expected}`);
    process.exitCode = 1;
  }
});
socket.once('error', (err) => {
  clearTimeout(timer);
  console.error(`tcp-sink: ${err.message}`);
  process.exit(1);
});
