/**
 * Header rewriting for an HTTP proxy (RFC 9110 §7.6). Hop-by-hop headers
 * describe one connection, not the message, so a proxy removes them in both
 * directions: Connection, every header Connection names, and the fixed list
 * below. X-Forwarded-For/-Proto/-Host tell the upstream who the client was.
 */

import type { ConsumedCredential } from '../pipeline/types.js';

type HeaderValue = string | string[] | undefined;
export type HeaderMap = Record<string, HeaderValue>;

/** Always hop-by-hop (RFC 9110 §7.6.1, plus the legacy Keep-Alive and Proxy-Connection). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'http2-settings',
]);

/**
 * Fields a `Connection` header may never remove: the message's framing and
 * Host. A client that names Content-Length there must not get its body read
 * by the target as a second request (request smuggling).
 */
const NOT_NAMEABLE = new Set(['content-length', 'transfer-encoding', 'host']);

/** The headers a `Connection` header names, lower case (e.g. `close`, `x-foo`). */
function connectionTokens(value: HeaderValue): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const tokens = new Set<string>();
  for (const token of text.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== '' && !NOT_NAMEABLE.has(name)) tokens.add(name);
  }
  return tokens;
}

function isHopByHop(name: string, named: Set<string> | undefined): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-') || (named?.has(name) ?? false);
}

/** What the listener knows about the client connection, and what auth found. */
export interface ForwardedContext {
  /** The address of the socket's peer. */
  readonly peerIp: string;
  /** True when the peer is one of the trusted proxies: its X-Forwarded-* are kept. */
  readonly peerTrusted: boolean;
  /** `http` or `https`, as the client reached the gateway. */
  readonly proto: string;
  /** The authenticated consumer, sent as `x-gw-consumer`; empty or absent: none. */
  readonly consumer?: string;
  /** The credential auth consumed: its header is not sent (see `Exchange.consumed`). */
  readonly consumed?: ConsumedCredential | undefined;
}

/** The X-Forwarded-* values to send: see {@link requestFieldLines}. */
interface Forwarded {
  readonly for: string;
  readonly proto: string;
  readonly host: string | undefined;
}

/**
 * X-Forwarded-For with the peer appended to what a trusted peer sent (from
 * any other peer, the peer alone: a client cannot forge its address),
 * X-Forwarded-Proto and -Host kept from a trusted peer, else the gateway's own.
 */
function forwardedValues(headers: HeaderMap, context: ForwardedContext): Forwarded {
  const trusted = context.peerTrusted;
  const priorFor = trusted ? headers['x-forwarded-for'] : undefined;
  const priorProto = trusted ? headers['x-forwarded-proto'] : undefined;
  const host = (trusted ? headers['x-forwarded-host'] : undefined) ?? headers.host;
  return {
    for: priorFor === undefined ? context.peerIp : `${joinValue(priorFor)}, ${context.peerIp}`,
    proto: priorProto === undefined ? context.proto : joinValue(priorProto),
    host: host === undefined ? undefined : joinValue(host),
  };
}

/**
 * The request's field lines for the target, straight from the fields as
 * received (flat name, value list), with names, order and repeats kept:
 * hop-by-hop fields removed (and those Connection names), `Expect` removed
 * (the gateway answers 100-continue itself), Host preserved, and
 * X-Forwarded-For appended (or, from an untrusted peer, replaced, so a client
 * cannot forge its address), X-Forwarded-Proto and -Host set. A client's
 * `x-gw-consumer` is always removed (only the gateway says who the consumer
 * is), and the authenticated consumer's name sent in it; the header that
 * carried the credential auth consumed is removed. Content-Length is left
 * out: the caller writes the framing it read.
 */
export function requestFieldLines(
  raw: readonly string[],
  headers: HeaderMap,
  context: ForwardedContext,
): string {
  const named = connectionTokens(headers.connection);
  // Undefined (matching no name) unless auth consumed a credential from a header.
  const consumedField = context.consumed?.field;
  let out = '';
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const lower = name.toLowerCase();
    if (
      isHopByHop(lower, named) ||
      lower === 'content-length' ||
      lower === 'expect' ||
      lower === 'x-forwarded-for' ||
      lower === 'x-forwarded-proto' ||
      lower === 'x-forwarded-host' ||
      lower === CONSUMER_FIELD ||
      lower === consumedField
    )
      continue;
    out += `${name}: ${raw[i + 1] ?? ''}\r\n`;
  }
  const forwarded = forwardedValues(headers, context);
  out += `x-forwarded-for: ${forwarded.for}\r\nx-forwarded-proto: ${forwarded.proto}\r\n`;
  if (forwarded.host !== undefined) out += `x-forwarded-host: ${forwarded.host}\r\n`;
  return out + consumerLine(context.consumer);
}

/** The field naming the authenticated consumer to the target; never taken from a client. */
export const CONSUMER_FIELD = 'x-gw-consumer';

/** The `x-gw-consumer` field line for `consumer`, or nothing when there is none. */
export function consumerLine(consumer: string | undefined): string {
  return consumer === undefined || consumer === '' ? '' : `${CONSUMER_FIELD}: ${consumer}\r\n`;
}

/** Field lines (`name: value` CRLF) from a flat name, value list. */
export function fieldLines(fields: readonly string[]): string {
  let out = '';
  for (let i = 0; i + 1 < fields.length; i += 2)
    out += `${fields[i] ?? ''}: ${fields[i + 1] ?? ''}\r\n`;
  return out;
}

function joinValue(value: string | string[]): string {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The client address the gateway believes: the peer, or, when the peer is a
 * trusted proxy, the right-most X-Forwarded-For entry that is not itself
 * trusted (the left-most entries are whatever the client chose to write).
 */
export function trustedClientIp(
  headers: HeaderMap,
  peerIp: string,
  peerTrusted: boolean,
  isTrusted: (ip: string) => boolean,
): string {
  if (!peerTrusted) return peerIp;
  const chain = headers['x-forwarded-for'];
  if (chain === undefined) return peerIp;
  const hops = joinValue(chain)
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    if (hop !== undefined && !isTrusted(hop)) return hop;
  }
  return hops[0] ?? peerIp;
}
