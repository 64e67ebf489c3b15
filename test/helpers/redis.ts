import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './sockets.js';
import { sleep } from './wait.js';

/**
 * A real redis-server (Debian `redis-server`) on a free loopback port, with
 * no persistence, in a temp dir; every process is stopped by its own pid.
 */
export interface TestRedis {
  readonly port: number;
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  /** Sends one command (RESP) on a fresh connection and returns the raw reply text. */
  command(...args: string[]): Promise<string>;
  /** SIGSTOP: the server keeps its connections but answers nothing. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** SIGKILL, waiting for the exit (its keys are gone: there is no persistence). */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops it and removes its dir. */
  close(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';
  const launch = async (): Promise<void> => {
    const started = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--logfile',
        '',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = started;
    started.stdout.on('data', (b: Buffer) => (output += b.toString()));
    started.stderr.on('data', (b: Buffer) => (output += b.toString()));
    for (let i = 0; i < 200; i++) {
      if (started.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
      if ((await send(port, ['PING']).catch(() => '')) === '+PONG\r\n') return;
      await sleep(25);
    }
    throw new Error(`redis-server not answering on ${port} within 5 s: ${output}`);
  };
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    if (running?.pid === undefined || running.exitCode !== null || running.signalCode !== null) {
      return;
    }
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    process.kill(running.pid, 'SIGCONT');
    process.kill(running.pid, signal);
    await exited;
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    command: (...args) => send(port, args),
    pause() {
      if (child?.pid !== undefined) process.kill(child.pid, 'SIGSTOP');
    },
    resume() {
      if (child?.pid !== undefined) process.kill(child.pid, 'SIGCONT');
    },
    kill: () => stop('SIGKILL'),
    restart: launch,
    async close() {
      await stop('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One RESP command on a new connection; resolves with the reply once it looks complete. */
function send(port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply to ${args[0] ?? ''} within 2 s`));
    }, 2000);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (complete(reply)) {
        clearTimeout(timer);
        socket.end();
        resolve(reply);
      }
    });
    const parts = args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
    socket.write(`*${args.length}\r\n${parts}`);
  });
}

/** Enough of RESP for test replies: simple lines, integers, one bulk string. */
function complete(reply: string): boolean {
  if (!reply.endsWith('\r\n')) return false;
  const first = reply[0];
  if (first === '+' || first === '-' || first === ':') return true;
  if (first === '$') {
    const length = Number(reply.slice(1, reply.indexOf('\r\n')));
    if (length < 0) return true;
    return Buffer.byteLength(reply) >= reply.indexOf('\r\n') + 2 + length + 2;
  }
  // Arrays (*N): callers that need them use ioredis instead.
  return true;
}
