/** What a reload can change on a TLS listener's live socket, and what it cannot. */
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import type { TlsFiles } from '../config/types.js';

/**
 * Readies a TLS listener's server for the certificate and key of its new
 * config: reads them and makes a secure context now (a key that does not
 * match its certificate throws here, before anything changes); the function
 * returned puts them in force for the handshakes that follow. Nothing to do
 * for a cleartext server.
 */
export function certificateChange(
  server: net.Server,
  config: { readonly tls?: TlsFiles },
): () => void {
  if (!(server instanceof tls.Server) || config.tls === undefined) return () => undefined;
  const secure = { cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) };
  tls.createSecureContext(secure);
  return () => server.setSecureContext(secure);
}

/**
 * A TLS server's handshake timeout (its headerMs) is fixed when the socket
 * opens: a reload that changes headerMs says so.
 */
export function handshakeNote(
  previous: { readonly name: string; readonly timeouts: { readonly headerMs: number } },
  next: { readonly tls?: unknown; readonly timeouts: { readonly headerMs: number } },
): string[] {
  if (next.tls === undefined || next.timeouts.headerMs === previous.timeouts.headerMs) return [];
  return [
    `listener ${previous.name}: the TLS handshake timeout keeps the headerMs it opened with until a restart`,
  ];
}
