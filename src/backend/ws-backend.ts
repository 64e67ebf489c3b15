import http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import {
  backendName,
  backendOptions,
  requestUrl,
  shouldFail,
  type BackendOptions,
  type ResolvedOptions,
  type RunningBackend,
} from './backend-options.js';
import { peerOf } from '../shared/format.js';
import { closeServer, listenServer } from './listen-server.js';

/** WebSocket close code for an injected failure: 1011, internal error (RFC 6455 §7.4.1). */
export const WS_FAILURE_CODE = 1011;

/**
 * The first message on every WebSocket connection (a text frame, JSON):
 * the backend's name, plus the upgrade request's target and headers as
 * received, so a proxy's tests can check what it forwarded.
 */
export interface WsHello {
  backend: string;
  path: string;
  headers: http.IncomingHttpHeaders;
}

interface Context {
  options: ResolvedOptions;
  name: string;
  wss: WebSocketServer;
}

/**
 * Starts the demo WebSocket upstream. On connect it sends a {@link WsHello},
 * then echoes every message after `latencyMs` (text stays text, binary stays
 * binary, order kept). For the share `failRate` of messages it closes the
 * connection with 1011 instead. An upgrade whose query has `reject=1` is
 * refused with `403` (an HTTP response, no upgrade). Plain HTTP requests get
 * 200 `ok` on `/healthz` and `426 Upgrade Required` elsewhere. Pings are
 * answered with pongs by the ws library.
 */
export async function startWsBackend(options: BackendOptions): Promise<RunningBackend> {
  const resolved = backendOptions(options);
  const wss = new WebSocketServer({ noServer: true, clientTracking: true });
  const ctx: Context = { options: resolved, name: '', wss };
  const server = http.createServer((req, res) => {
    answerPlain(req, res, ctx);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    upgrade(req, socket, head, ctx);
  });
  const address = await listenServer(server, resolved.host, resolved.port);
  ctx.name = backendName(resolved, address.port);
  resolved.onEvent({
    type: 'listening',
    kind: 'ws',
    backend: ctx.name,
    host: address.address,
    port: address.port,
  });
  return {
    kind: 'ws',
    host: address.address,
    port: address.port,
    name: ctx.name,
    async close() {
      for (const client of wss.clients) client.terminate();
      const closed = closeServer(server);
      server.closeAllConnections();
      await Promise.all([closed, new Promise<void>((resolve) => wss.close(() => resolve()))]);
    },
  };
}

function answerPlain(req: http.IncomingMessage, res: http.ServerResponse, ctx: Context): void {
  const healthz = (req.url ?? '/').split('?')[0] === '/healthz';
  const body = healthz
    ? 'ok'
    : `${JSON.stringify({ backend: ctx.name, error: 'websocket upgrade required' })}\n`;
  res.writeHead(healthz ? 200 : 426, {
    'x-backend': ctx.name,
    'content-type': healthz ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...(healthz ? {} : { upgrade: 'websocket', connection: 'Upgrade' }),
  });
  res.end(body);
  req.resume();
}

function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, ctx: Context): void {
  socket.on('error', () => undefined); // a peer vanishing mid-handshake must not crash us
  const target = req.url ?? '/';
  const url = requestUrl(target);
  if (url === undefined || url.searchParams.get('reject') === '1') {
    const status = url === undefined ? 400 : 403;
    refuse(socket, ctx.name, status);
    ctx.options.onEvent({
      type: 'request',
      kind: 'ws',
      backend: ctx.name,
      peer: peerOf(req.socket),
      method: req.method ?? 'GET',
      path: target,
      status,
      injected: false,
    });
    return;
  }
  ctx.wss.handleUpgrade(req, socket, head, (ws) => {
    serve(ws, req, target, ctx);
  });
}

/**
 * Refuses an upgrade with a complete HTTP response, then closes (RFC 6455
 * §4.2.2): 403 when asked to (`?reject=1`), 400 for a target that is no path.
 */
function refuse(socket: Duplex, name: string, status: 400 | 403): void {
  const error = status === 403 ? 'upgrade refused' : 'bad request target';
  const body = `${JSON.stringify({ backend: name, error })}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${status === 403 ? 'Forbidden' : 'Bad Request'}\r\n` +
      `x-backend: ${name}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
}

/** Sends the hello, then echoes every message until the connection closes. */
function serve(ws: WebSocket, req: http.IncomingMessage, path: string, ctx: Context): void {
  const { options, name } = ctx;
  const peer = peerOf(req.socket);
  let echoed = 0;
  let injected = false;
  options.onEvent({ type: 'open', kind: 'ws', backend: name, peer, path });
  const hello: WsHello = { backend: name, path, headers: req.headers };
  ws.send(JSON.stringify(hello));
  ws.on('error', () => undefined); // protocol errors close the socket; the close event reports it
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (injected) return;
    if (shouldFail(options)) {
      injected = true;
      ws.close(WS_FAILURE_CODE, 'injected failure');
      return;
    }
    const send = (): void => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(data, { binary: isBinary });
      echoed++;
    };
    // Timers with the same delay fire in the order they were set, so echoes keep their order.
    if (options.latencyMs > 0) setTimeout(send, options.latencyMs);
    else send();
  });
  ws.on('close', (code: number) => {
    options.onEvent({
      type: 'close',
      kind: 'ws',
      backend: name,
      peer,
      echoed,
      reason: String(code),
      injected,
    });
  });
}
