import net from 'node:net';

/** Connects to 127.0.0.1:port and resolves once connected. */
export function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Collects everything a socket sends until it has `bytes` bytes (or closes). */
export function readBytes(socket: net.Socket, bytes: number, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const done = (): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('close', onClose);
      resolve(Buffer.concat(chunks));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= bytes) done();
    };
    const onClose = (): void => done();
    const timer = setTimeout(
      () => reject(new Error(`only ${total} of ${bytes} bytes within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('data', onData).on('close', onClose);
  });
}

/** Resolves when the socket has closed. */
export function closed(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.closed) resolve();
    else socket.once('close', () => resolve());
  });
}

/** A port that was free a moment ago (for tests that need a refused connection). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A base port whose next `count` ports (base, base+1, ...) were all free a
 * moment ago, for commands that take `--base-port`. Throws after 20 tries.
 */
export async function freeBasePort(count = 3): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const candidate = 20000 + Math.floor(Math.random() * 40000);
    const free = await Promise.all(
      Array.from({ length: count }, (_, d) => portIsFree(candidate + d)),
    );
    if (free.every(Boolean)) return candidate;
  }
  throw new Error(`no ${count} consecutive free ports found in 20 tries`);
}

/** Starts a hand-written peer on 127.0.0.1 (a misbehaving server, say); close it when done. */
export async function startPeer(
  onConnection: (socket: net.Socket) => void,
): Promise<{ port: number; close: () => void }> {
  const server = net.createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => server.close() };
}

/**
 * How a TCP connection to `port` ended once `text` was sent: the echo (as
 * soon as as many bytes came back), `closed`, or the error code (a reset is
 * `ECONNRESET`). Rejects when none of these comes within 5 s.
 */
export function tcpTry(port: number, text: string): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port });
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no echo, reset or close within 5 s'));
    }, 5000);
    const done = (what: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(what);
    };
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
    socket.on('close', () => done(got === '' ? 'closed' : got));
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString();
      if (got.length >= text.length) done(got);
    });
    socket.write(text);
  });
}

/**
 * A target that must never be reached: it counts connections and answers
 * anything with a plain HTTP 200 and closes, so a test whose gateway did
 * reach it fails at once instead of waiting for a timeout.
 */
export async function startTrap(): Promise<{
  port: number;
  hits: () => number;
  close: () => void;
}> {
  let hits = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    hits++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', () => {
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\ntrap');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    hits: () => hits,
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}
