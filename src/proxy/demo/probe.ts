import http from 'node:http';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import type { BackendKind } from '../../backend/backend-options.js';
import { echoClient } from '../../backend/grpc-client.js';
import { connectionError, GwError } from '../../shared/errors.js';
import { formatHostPort } from '../../shared/format.js';
import { decodeGrpcMessage } from '../upstream/grpc-message.js';

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
  // One limit for every kind: when it passes, the probe's own socket or client is closed too,
  // so nothing it opened keeps the process alive.
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), PROBE_TIMEOUT_MS);
  const timedOut = (): GwError =>
    connectionError(host, port, Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' }));
  return new Promise<string>((resolve, reject) => {
    stop.signal.addEventListener('abort', () => reject(timedOut()), { once: true });
    exchange(kind, host, port, path, stop.signal).then(resolve, reject);
  }).finally(() => {
    clearTimeout(timer);
    stop.abort();
  });
}

function exchange(
  kind: ProbeKind,
  host: string,
  port: number,
  path: string,
  signal: AbortSignal,
): Promise<string> {
  switch (kind) {
    case 'http':
      return probeHttp(host, port, path, signal);
    case 'ws':
      return probeWs(host, port, signal);
    case 'grpc':
      return probeGrpc(host, port, signal);
    case 'tcp':
      return probeTcp(host, port, signal);
  }
}

/** Runs `close` once `signal` aborts (at once if it already has). */
function onAbort(signal: AbortSignal, close: () => void): void {
  if (signal.aborted) close();
  else signal.addEventListener('abort', close, { once: true });
}

function probeHttp(host: string, port: number, path: string, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent: false }, (res) => {
      res.resume();
      const name = res.headers['x-backend'];
      res.on('end', () => resolve(typeof name === 'string' ? name : `(status ${res.statusCode})`));
    });
    onAbort(signal, () => req.destroy());
    req.on('error', (err) => reject(connectionError(host, port, err)));
  });
}

function probeWs(host: string, port: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${formatHostPort(host, port)}/ws`);
    onAbort(signal, () => ws.terminate());
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

function probeGrpc(host: string, port: number, signal: AbortSignal): Promise<string> {
  const client = echoClient(formatHostPort(host, port));
  onAbort(signal, () => client.close());
  return new Promise<string>((resolve, reject) => {
    client.Unary(
      { message: 'hello from gw demo' },
      new grpc.Metadata(),
      { deadline: Date.now() + PROBE_TIMEOUT_MS },
      (err, reply) => {
        client.close();
        // Shown to a user: "127.0.0.1:9001" rather than the wire's "127.0.0.1%3A9001".
        if (err) reject(connectionError(host, port, grpcDisplayError(err)));
        else resolve(reply?.backend ?? '?');
      },
    );
  });
}

/** A gRPC client error with its message (status and grpc-message) percent-decoded. */
function grpcDisplayError(err: grpc.ServiceError): Error {
  return new Error(decodeGrpcMessage(err.message), { cause: err });
}

function probeTcp(host: string, port: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    onAbort(signal, () => socket.destroy());
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
  });
}
