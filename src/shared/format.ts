/** Small formatting helpers shared by the commands' text output. */

/** `1 message`, `3 messages`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Bytes in IEC units: `512 B`, `1.5 KiB`, `3.2 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 'B';
  for (const next of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${unit}`;
}

/**
 * A byte string shown safely on one line: printable ASCII as is, the rest
 * escaped (`\n`, `\x00`), cut to `max` characters with an ellipsis.
 */
export function preview(bytes: Uint8Array, max = 48): string {
  let out = '';
  for (const byte of bytes) {
    if (out.length >= max) return `"${out}…"`;
    if (byte === 0x0a) out += '\\n';
    else if (byte === 0x0d) out += '\\r';
    else if (byte === 0x09) out += '\\t';
    else if (byte === 0x22) out += '\\"';
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `"${out}"`;
}

/** A whole number with thousands separators, `50,424` (by hand: toLocaleString loads ICU data, ~20 ms). */
export function thousands(n: number): string {
  const digits = String(Math.round(n));
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A rate with thousands separators: `4,065 messages/s`. */
export function formatRate(perSecond: number, unit: string): string {
  return `${thousands(perSecond)} ${unit}/s`;
}

/** `host:port`, with IPv6 addresses in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A socket's peer as `host:port` (`?:0` when it is already gone). */
export function peerOf(socket: {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}): string {
  return formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
}
