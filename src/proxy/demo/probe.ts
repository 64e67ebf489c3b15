import http from 'node:http';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import type { BackendKind } from '../../backend/backend-options.js';
import { echoClient } from '../../backend/grpc-client.js';
import { connectionError, GwError } from '../../shared/errors.js';
import { formatHostPort } from '../../shared/format.js';

/** How long one probe may take before it gives up. */
const PROBE_TIMEOUT_MS = 5000;

/** A probe per kind of demo backend. */
export type ProbeKind = BackendKind;

/**
 * Makes one exchange of the given kind through a running demo gateway and
 * resolves with the name of the backend that answered. Used by `gw demo`
 * to show balancing at start-up, and by `gw demo call KIND`.
 */
export function probe(
  kind: ProbeKind,
  host: string,
  port: number,
  path = '/api/hello',
): Promise<string> {
  return withTimeout(exchange(kind, host, port, path), host, port);
}

function exchange(kind: ProbeKind, host: string, port: number, path: string): Promise<string> {
  switch (kind) {
    case 'http':
      return probeHttp(host, port, path);
    case 'ws':
      return probeWs(host, port);
    case 'grpc':
      return probeGrpc(host, port);
    case 'tcp':
      return probeTcp(host, port);
  }
}

/** `work`, or a GW_ERR_CONNECT_TIMEOUT once it has taken PROBE_TIMEOUT_MS. */
function withTimeout(work: Promise<string>, host: string, port: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        connectionError(host, port, Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' })),
      );
    }, PROBE_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function probeHttp(host: string, port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent: false, timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      const name = res.headers['x-backend'];
      res.on('end', () => resolve(typeof name === 'string' ? name : `(status ${res.statusCode})`));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', (err) => reject(connectionError(host, port, err)));
  });
}

function probeWs(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${formatHostPort(host, port)}/ws`);
    ws.once('message', (data: Buffer) => {
      ws.close();
      try {
        const hello = JSON.parse(data.toString()) as { backend?: string };
        resolve(hello.backend ?? '?');
      } catch {
        reject(
          new GwError(
            'GW_ERR_CONNECTION',
            `${formatHostPort(host, port)} sent a hello that is not JSON`,
          ),
        );
      }
    });
    ws.once('close', () => reject(connectionError(host, port, 'closed before its hello')));
    ws.once('error', (err) => reject(connectionError(host, port, err)));
  });
}

function probeGrpc(host: string, port: number): Promise<string> {
  const client = echoClient(formatHostPort(host, port));
  return new Promise<string>((resolve, reject) => {
    client.Unary(
      { message: 'hello from gw demo' },
      new grpc.Metadata(),
      { deadline: Date.now() + PROBE_TIMEOUT_MS },
      (err, reply) => {
        client.close();
        if (err) reject(connectionError(host, port, err));
        else resolve(reply?.backend ?? '?');
      },
    );
  });
}

function probeTcp(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        socket.destroy();
        resolve(text.slice(0, nl).replace(/^hello from /, ''));
      }
    });
    socket.on('error', (err) => reject(connectionError(host, port, err)));
    socket.on('close', () => reject(connectionError(host, port, 'closed before its first line')));
    socket.setTimeout(PROBE_TIMEOUT_MS, () => socket.destroy());
  });
}
