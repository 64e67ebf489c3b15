// Loopback traffic for the tcpdump text samples; run inside the network
// namespace that make-samples.sh creates (ports below 1024 need root there).
// Usage: node traffic.mjs SCENARIO. Every socket it opens is closed before it exits.
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function listen(server, port, host) {
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

function close(server) {
  return new Promise((resolve) => server.close(() => resolve()));
}

async function httpGet(host, port = 80) {
  const server = http.createServer((req, res) => res.end('hello from gw samples\n'));
  await listen(server, port, host);
  await new Promise((resolve, reject) => {
    http
      .get({ host, port, path: '/', agent: false }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
      .on('error', reject);
  });
  await sleep(50);
  server.closeAllConnections();
  await close(server);
}

async function udpToClosedPort(host) {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise((resolve) => socket.send('ping', 9999, host, () => resolve()));
  await sleep(50);
  socket.close();
}

async function refused(host) {
  await new Promise((resolve) => {
    const socket = net.connect({ host, port: 9998 });
    socket.on('error', () => resolve());
  });
}

/** Echo server on 9000; each client writes `messages` lines and reads them back. */
async function echoServer(host) {
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy()); // the client may abort with RST
    socket.pipe(socket);
  });
  return listen(server, 9000, host);
}

function client(host, options = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: 9000, ...options }, () => resolve(socket));
    socket.on('error', reject);
  });
}

async function exchange(socket, lines) {
  for (const line of lines) {
    socket.write(line);
    await new Promise((resolve) => socket.once('data', resolve));
    await sleep(5);
  }
}

async function basic() {
  await httpGet('127.0.0.1');
  await udpToClosedPort('127.0.0.1');
  await refused('127.0.0.1');
  const server = await echoServer('127.0.0.1');
  // The same port pair twice: the first connection is aborted (RST), so the
  // second may reuse the 4-tuple at once.
  const first = await client('127.0.0.1', { localPort: 40000 });
  await exchange(first, ['one\n', 'two\n']);
  first.resetAndDestroy();
  await sleep(50);
  const second = await client('127.0.0.1', { localPort: 40000 });
  await exchange(second, ['three\n']);
  second.end();
  await sleep(100);
  await close(server);
}

async function ipv6() {
  await httpGet('::1');
  await udpToClosedPort('::1');
  await refused('::1');
  const server = await echoServer('::1');
  const socket = await client('::1');
  await exchange(socket, ['hello\n', 'world\n', 'x'.repeat(3000) + '\n']);
  socket.end();
  await sleep(100);
  await close(server);
}

/** A bulk transfer; make-samples.sh shapes lo so that some segments are dropped. */
async function bulk() {
  const server = net.createServer((socket) => {
    socket.on('error', () => socket.destroy());
    socket.resume();
    socket.on('end', () => socket.end());
  });
  await listen(server, 9000, '127.0.0.1');
  const socket = await client('127.0.0.1');
  socket.end(Buffer.alloc(160 * 1024, 0x61));
  await new Promise((resolve) => socket.on('close', resolve));
  await close(server);
}

/** A chatty connection with idle gaps, for captures that start mid-stream, and keep-alives. */
async function chatty() {
  const server = await echoServer('127.0.0.1');
  const socket = await client('127.0.0.1');
  socket.setKeepAlive(true, 1000);
  for (let i = 0; i < 6; i++) {
    await exchange(socket, [`message ${i}\n`]);
    await sleep(300);
  }
  await sleep(2600); // idle: keep-alive probes every second
  await exchange(socket, ['bye\n']);
  socket.end();
  await sleep(100);
  await close(server);
}

/** A receiver that stops reading: the window closes and the sender probes it. */
async function zeroWindow() {
  let held;
  const server = net.createServer((socket) => {
    held = socket;
    socket.pause();
  });
  await listen(server, 9000, '127.0.0.1');
  const socket = await client('127.0.0.1');
  socket.write(Buffer.alloc(160 * 1024, 0x62));
  await sleep(1500);
  held.resume();
  socket.end();
  await new Promise((resolve) => held.on('end', resolve));
  held.end();
  await sleep(100);
  await close(server);
}

/** The server half of a two-namespace capture: an echo server on HOST:9000 for a few seconds. */
async function echoServe(host) {
  const server = await echoServer(host);
  await sleep(3000);
  server.closeAllConnections?.();
  await close(server);
}

/** The client half: one short exchange with each address given. */
async function echoTalk(...hosts) {
  for (const host of hosts) {
    const socket = await client(host);
    await exchange(socket, ['hello\n', 'again\n']);
    socket.end();
    await new Promise((resolve) => socket.on('close', resolve));
  }
}

/** HTTP on a port tcpdump does not label (not 80 or 8080): only -x/-X/-A show it is HTTP. */
async function httpAlt() {
  await httpGet('127.0.0.1', 18990);
}

const scenarios = { basic, ipv6, bulk, chatty, zeroWindow, echoServe, echoTalk, httpAlt };
const name = process.argv[2];
const run = scenarios[name];
if (run === undefined) {
  console.error(`usage: node traffic.mjs ${Object.keys(scenarios).join('|')}`);
  process.exit(2);
}
await run(...process.argv.slice(3));
