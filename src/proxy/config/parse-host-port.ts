import type { HostPort } from './types.js';

/** The outcome of parsing one config value: the value, or what is wrong with it. */
export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

/** Where the address is used, which decides whether port 0 is allowed. */
export interface HostPortOptions {
  /** Accept port 0 ("any free port"), which only makes sense for a listener. */
  readonly allowPortZero: boolean;
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * Parses `host:port`, or `[v6]:port` for IPv6 (the brackets keep the address's
 * own colons apart from the port's, as in URLs, RFC 3986 §3.2.2). The host is
 * returned without brackets, lower-cased, and for IPv6 in its canonical short
 * form (`[0:0::1]` → `::1`), so equal addresses compare equal. Pure.
 */
export function parseHostPort(text: string, options: HostPortOptions): Parsed<HostPort> {
  if (/\s/.test(text)) return fail('contains whitespace');
  const split = splitHostPort(text);
  if (!split.ok) return split;
  const port = parsePort(split.value.port, options);
  if (!port.ok) return port;
  const host = split.value.bracketed ? parseIpv6(split.value.host) : parseHost(split.value.host);
  if (!host.ok) return host;
  return { ok: true, value: { host: host.value, port: port.value } };
}

/** True for an IPv6 address (the host part of a parsed HostPort). */
export function isIpv6(host: string): boolean {
  return host.includes(':');
}

interface SplitHostPort {
  readonly host: string;
  readonly port: string;
  readonly bracketed: boolean;
}

function splitHostPort(text: string): Parsed<SplitHostPort> {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return fail('an IPv6 address opened with [ is not closed with ]');
    const rest = text.slice(close + 1);
    if (!rest.startsWith(':')) return fail('missing :port after the ]');
    return {
      ok: true,
      value: { host: text.slice(1, close), port: rest.slice(1), bracketed: true },
    };
  }
  const colon = text.lastIndexOf(':');
  if (colon < 0) return fail('missing :port');
  const host = text.slice(0, colon);
  if (host.includes(':')) return fail('an IPv6 address needs brackets, as in [::1]:8080');
  if (host === '')
    return fail('missing host (0.0.0.0 means every interface, 127.0.0.1 this machine)');
  return { ok: true, value: { host, port: text.slice(colon + 1), bracketed: false } };
}

function parsePort(text: string, options: HostPortOptions): Parsed<number> {
  if (!/^\d{1,5}$/.test(text)) return fail(text === '' ? 'missing port' : 'port is not a number');
  const port = Number(text);
  if (port > 65535) return fail('port out of range');
  if (port === 0 && !options.allowPortZero) return fail('port 0 only makes sense for a listener');
  return { ok: true, value: port };
}

function parseIpv6(host: string): Parsed<string> {
  if (!host.includes(':')) return fail('brackets are only for IPv6 addresses');
  try {
    // The WHATWG URL parser implements the full IPv6 grammar and prints the
    // canonical form (RFC 5952), so no hand-written parser is needed here.
    const hostname = new URL(`http://[${host}]/`).hostname;
    return { ok: true, value: hostname.slice(1, -1) };
  } catch {
    return fail('not a valid IPv6 address');
  }
}

function parseHost(raw: string): Parsed<string> {
  const host = raw.toLowerCase();
  const labels = host.split('.');
  if (labels.every((label) => /^\d+$/.test(label))) return parseIpv4(host, labels);
  if (host.length > 253 || !labels.every((label) => LABEL.test(label))) {
    return fail('not a valid host name or IPv4 address');
  }
  return { ok: true, value: host };
}

function parseIpv4(host: string, labels: readonly string[]): Parsed<string> {
  const valid =
    labels.length === 4 &&
    labels.every((part) => Number(part) <= 255 && (part === '0' || !part.startsWith('0')));
  // Shorthands like 127.1 and leading zeros (octal to some parsers) are refused as ambiguous.
  return valid ? { ok: true, value: host } : fail('not a valid IPv4 address (four numbers 0–255)');
}

function fail(problem: string): { readonly ok: false; readonly problem: string } {
  return { ok: false, problem };
}
