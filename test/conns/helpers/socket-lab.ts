/**
 * Real sockets on loopback held in chosen TCP states, for the live tests and
 * for fixtures/proc/make-fixtures.ts. Every state a single host can reach
 * without help is here:
 *
 * - LISTEN, ESTABLISHED (with a keepalive timer);
 * - CLOSE_WAIT and FIN_WAIT2: the client half-closes, the server never does;
 * - TIME_WAIT: the client closes first, the server answers with its FIN;
 * - LAST_ACK, FIN_WAIT1 and CLOSING: the server's data is stuck behind a zero
 *   window (the client does not read), so the FIN it queues on close() cannot
 *   go out; the zero-window probe timer runs;
 * - SYN_SENT: a listener (python3, which unlike Node need not accept) whose
 *   accept queue is full drops further SYNs, so clients keep retrying.
 *
 * SYN_RECV needs the SYN+ACK to be lost: {@link SocketLab.halfOpen} connects
 * to a listener whose SYN+ACKs a tc rule drops (in a private namespace: see
 * netns.test.ts and fixtures/proc/make-fixtures.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** More than any socket buffer holds, so some of it always stays unsent. */
const STUCK_BYTES = 32 << 20;

export class SocketLab {
  readonly servers: net.Server[] = [];
  readonly sockets: net.Socket[] = [];
  readonly children: ChildProcess[] = [];
  /** Every listening port the lab opened. */
  readonly ports = new Set<number>();
  readonly host: string;

  constructor(host: string) {
    this.host = host;
  }

  /** A listener that keeps every accepted socket open and half-open. */
  async listen(
    port = 0,
  ): Promise<{ server: net.Server; port: number; next: () => Promise<net.Socket> }> {
    const waiting: ((s: net.Socket) => void)[] = [];
    const queued: net.Socket[] = [];
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('error', () => undefined);
      this.sockets.push(socket);
      const waiter = waiting.shift();
      if (waiter) waiter(socket);
      else queued.push(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host: this.host, backlog: 511 }, resolve);
    });
    this.servers.push(server);
    const actual = (server.address() as net.AddressInfo).port;
    this.ports.add(actual);
    const next = (): Promise<net.Socket> => {
      const ready = queued.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    };
    return { server, port: actual, next };
  }

  /** A connected client socket (resolves on connect). */
  async connect(port: number, host = this.host): Promise<net.Socket> {
    const socket = net.connect({ port, host, allowHalfOpen: true });
    socket.on('error', () => undefined);
    this.sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return socket;
  }

  /** A client and its accepted peer. */
  async pair(port?: number): Promise<{ port: number; client: net.Socket; server: net.Socket }> {
    const listener = await this.listen(port);
    const client = await this.connect(listener.port);
    return { port: listener.port, client, server: await listener.next() };
  }

  /** ESTABLISHED both ways; the client runs a keepalive timer. */
  async established(port?: number): Promise<number> {
    const { port: p, client } = await this.pair(port);
    client.setKeepAlive(true, 60_000);
    return p;
  }

  /** The server side in CLOSE_WAIT, the client in FIN_WAIT2. */
  async closeWait(port?: number, count = 1): Promise<number> {
    const listener = await this.listen(port);
    for (let i = 0; i < count; i++) {
      const client = await this.connect(listener.port);
      const server = await listener.next();
      const ended = new Promise((resolve) => server.once('end', resolve));
      server.resume();
      client.end();
      await ended;
    }
    return listener.port;
  }

  /** The client in TIME_WAIT (it closed first). */
  async timeWait(port?: number, count = 1): Promise<number> {
    const listener = await this.listen(port);
    for (let i = 0; i < count; i++) {
      const client = await this.connect(listener.port);
      const server = await listener.next();
      server.on('end', () => server.end());
      server.resume();
      client.resume();
      const closed = new Promise((resolve) => client.once('close', resolve));
      client.end();
      await closed;
    }
    return listener.port;
  }

  /** A pair whose server has data stuck behind the client's zero window. */
  private async stuck(port?: number) {
    const { port: p, client, server } = await this.pair(port);
    client.pause();
    server.write(Buffer.alloc(STUCK_BYTES));
    await sleep(200);
    return { port: p, client, server };
  }

  /** The server in LAST_ACK (its FIN stuck behind unsent data), the client in FIN_WAIT2. */
  async lastAck(port?: number): Promise<number> {
    const { port: p, client, server } = await this.stuck(port);
    const ended = new Promise((resolve) => server.once('end', resolve));
    client.end();
    await ended;
    server.destroy();
    return p;
  }

  /** The server in FIN_WAIT1 (closed first, FIN stuck), the client ESTABLISHED. */
  async finWait1(port?: number): Promise<number> {
    const { port: p, server } = await this.stuck(port);
    server.destroy();
    return p;
  }

  /** The server in CLOSING (FIN stuck, the client's FIN received), the client in FIN_WAIT2. */
  async closing(port?: number): Promise<number> {
    const { port: p, client, server } = await this.stuck(port);
    server.destroy();
    await sleep(50);
    client.end();
    return p;
  }

  /**
   * A python3 listener with backlog 1 that never accepts, then `clients`
   * connects: two complete and fill the accept queue, the rest stay in
   * SYN_SENT because the kernel drops their SYNs (counting ListenOverflows).
   */
  async synSent(clients = 3, port = 0): Promise<number> {
    const family = this.host.includes(':') ? 'AF_INET6' : 'AF_INET';
    const script = [
      'import socket, sys, time',
      `s = socket.socket(socket.${family})`,
      `s.bind((${JSON.stringify(this.host)}, ${port}))`,
      's.listen(1)',
      'print(s.getsockname()[1], flush=True)',
      'sys.stdin.read()',
    ].join('\n');
    const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.children.push(child);
    const actual = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once('error', reject);
    });
    this.ports.add(actual);
    for (let i = 0; i < clients; i++) {
      const socket = net.connect({ port: actual, host: this.host });
      socket.on('error', () => undefined);
      this.sockets.push(socket);
      await sleep(30);
    }
    await sleep(100);
    return actual;
  }

  /**
   * A listener on `port` and `clients` connects that are not awaited: where
   * the listener's SYN+ACKs are dropped, the clients stay in SYN_SENT and
   * the listener holds them in SYN_RECV.
   */
  async halfOpen(port: number, clients: number): Promise<number> {
    const listener = await this.listen(port);
    for (let i = 0; i < clients; i++) {
      const socket = net.connect({ port: listener.port, host: this.host });
      socket.on('error', () => undefined);
      this.sockets.push(socket);
    }
    await sleep(100);
    return listener.port;
  }

  /** Destroys every socket, closes every listener and stops the python3 listeners. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    for (const c of this.children) {
      c.stdin?.end();
      c.kill('SIGKILL');
    }
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** True when python3 can be run (it holds the listener that never accepts). */
export async function hasPython(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('python3', ['-c', 'pass']);
    child.once('error', () => resolve(false));
    child.once('close', (code) => resolve(code === 0));
  });
}
