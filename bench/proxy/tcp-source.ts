/**
 * The TCP source of the bulk-transfer case: every connection it accepts gets
 * `--bytes` bytes (a preallocated 1 MiB buffer written over and over, with
 * backpressure), then a FIN. What the peer sends is read and dropped.
 * Prints `listening PORT` when ready.
 *
 *   node --import tsx bench/proxy/tcp-source.ts --port P --bytes N
 */
import net from 'node:net';
import { intFlag } from '../lib/int-flag.js';

const port = intFlag('--port', 1);
const bytes = intFlag('--bytes', 2 ** 31);
const chunk = Buffer.alloc(1 << 20, 0x61);

const server = net.createServer((socket) => {
  socket.on('error', () => undefined);
  socket.resume();
  let left = bytes;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        socket.once('drain', pump);
        return;
      }
    }
    socket.end();
  };
  pump();
});
server.listen(port, '127.0.0.1', () => {
  console.log(`listening ${port}`);
});
