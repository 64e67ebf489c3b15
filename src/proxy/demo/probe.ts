import http from 'node:http';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { echoClient } from '../../backend/grpc-client.js';
import { connectionError } from '../../shared/errors.js';

export type ProbeKind = 'http' | 'ws' | 'grpc' | 'tcp';

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

function probeHttp(host: string, port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent: false }, (res) => {
      res.resume();
      const name = res.headers['x-backend'];
      res.on('end', () => resolve(typeof name === 'string' ? name : `(status ${res.statusCode})`));
    });
    req.on('error', (err) => reject(connectionError(host, port, err)));
  });
}

function probeWs(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${host.includes(':') ? `[${host}]` : host}:${port}/ws`);
    ws.once('message', (data: Buffer) => {
      const hello = JSON.parse(data.toString()) as { backend?: string };
      ws.close();
      resolve(hello.backend ?? '?');
    });
    ws.once('error', (err) => reject(connectionError(host, port, err)));
  });
}

function probeGrpc(host: string, port: number): Promise<string> {
  const client = echoClient(`${host.includes(':') ? `[${host}]` : host}:${port}`);
  return new Promise<string>((resolve, reject) => {
    client.Unary(
      { message: 'hello from gw demo' },
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
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
  });
}
