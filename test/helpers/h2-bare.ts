/**
 * Bare node:http2 peers for gRPC tests: a target whose streams a test
 * answers by hand, and a one-call client that reports the grpc-status.
 */
import http2 from 'node:http2';

/** A bare node:http2 target, with the paths of the streams it saw. */
export interface BareTarget {
  readonly port: number;
  /** The `:path` of every stream it saw, in order of arrival. */
  readonly streams: string[];
  /** The `:path` of every stream whose request arrived whole (END_STREAM). */
  readonly ended: string[];
  /** Destroys its sessions and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts a node:http2 server on 127.0.0.1 port 0 whose streams `onStream`
 * answers. Session and stream errors are ignored. `options` go to
 * `http2.createServer`; by default `maxSessionMemory` is 100 MB (Node's
 * 10 MB refuses streams first when many answers wait unsent).
 */
export async function bareTarget(
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
  options: http2.ServerOptions = {},
): Promise<BareTarget> {
  const server = http2.createServer({ maxSessionMemory: 100, ...options });
  const sessions = new Set<http2.ServerHttp2Session>();
  const streams: string[] = [];
  const ended: string[] = [];
  server.on('session', (s) => {
    sessions.add(s);
    s.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    streams.push(String(headers[':path']));
    stream.on('end', () => ended.push(String(headers[':path'])));
    onStream(stream, headers);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    streams,
    ended,
    close: () => {
      for (const s of sessions) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * One well-formed gRPC call to 127.0.0.1:`port` with node:http2, an empty
 * message as its body. Resolves with its grpc-status (from the headers or
 * the trailers), `'none'` when there was none, or `'timeout'` after
 * `timeoutMs`; never rejects.
 */
export function bareCall(port: number, path = '/t.T/Unary', timeoutMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let status = 'none';
    const timer = setTimeout(() => {
      status = 'timeout';
      session.destroy();
    }, timeoutMs);
    req.on('response', (h) => (status = String(h['grpc-status'] ?? status)));
    req.on(
      'trailers',
      (h: http2.IncomingHttpHeaders) => (status = String(h['grpc-status'] ?? status)),
    );
    req.on('data', () => undefined);
    req.on('error', () => undefined);
    req.on('close', () => {
      clearTimeout(timer);
      session.close();
      resolve(status);
    });
    req.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}
