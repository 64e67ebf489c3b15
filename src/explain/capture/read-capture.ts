import type { Readable } from 'node:stream';
import { captureUnsupported } from '../../shared/errors.js';
import type { TcpPacket } from '../types.js';
import { linkTypeName, SUPPORTED_LINKTYPES } from './link-types.js';
import { packetOf, type CaptureStats } from './packets.js';
import { pcapDecoder } from './pcap.js';
import { pcapngDecoder } from './pcapng.js';
import type { CaptureDecoder } from './record.js';

/** The formats a capture can be in; `text` is tcpdump's printed output. */
export type CaptureFormat = 'pcap' | 'pcapng' | 'text';

/** Tells the format from a file's first bytes (at least 4). */
export function sniffFormat(head: Uint8Array): CaptureFormat {
  if (head.length >= 4) {
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const le = view.getUint32(0, true);
    if ([0xa1b2c3d4, 0xa1b23c4d, 0xd4c3b2a1, 0x4d3cb2a1].includes(le)) return 'pcap';
    if (le === 0x0a0d0d0a) return 'pcapng';
  }
  return 'text';
}

/** How much of the start of an input {@link looksBinary} looks at. */
export const SNIFF_BYTES = 1024;

/**
 * True when the start of an input that is not a pcap/pcapng is binary, not
 * text: a NUL byte, or more than 1 in 10 bytes in invalid UTF-8 sequences or
 * control characters other than tab, LF, CR, FF and ESC. Looks at the first
 * {@link SNIFF_BYTES} bytes.
 */
export function looksBinary(head: Uint8Array): boolean {
  const bytes = head.subarray(0, SNIFF_BYTES);
  let bad = 0;
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i] ?? 0;
    if (b === 0) return true;
    if (b < 0x80) {
      if (b < 0x20 && b !== 9 && b !== 10 && b !== 13 && b !== 12 && b !== 27) bad++;
      i++;
      continue;
    }
    // Lead bytes: C2–DF one continuation byte, E0–EF two, F0–F4 three (RFC 3629 §4).
    const need = b > 0xf4 ? -1 : b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc2 ? 1 : -1;
    let ok = need > 0;
    for (let k = 1; ok && k <= need; k++) {
      const next = bytes[i + k];
      // A sequence cut by the end of the sample is not counted against it.
      if (next === undefined) break;
      ok = (next & 0xc0) === 0x80;
    }
    if (ok) i += need + 1;
    else {
      bad++;
      i++;
    }
  }
  return bad * 10 > bytes.length;
}

/** The first bytes of an input in hex, for messages: `1f 8b 08 00 …`. */
export function hexHead(head: Uint8Array, count = 8): string {
  const shown = [...head.subarray(0, count)].map((b) => b.toString(16).padStart(2, '0'));
  return `${shown.join(' ')}${head.length > count ? ' …' : ''}`;
}

/**
 * Streams the TCP packets of a binary capture (pcap or pcapng) from `input`,
 * with memory bounded by one chunk and one record. Counts what it skips in
 * `stats`. Throws GwErrors for corrupt or unsupported input (an unreadable
 * link type, no TCP at all), saying how many packets were read and where it
 * broke.
 */
export async function* readBinaryCapture(
  input: AsyncIterable<Buffer>,
  format: 'pcap' | 'pcapng',
  source: string,
  stats: CaptureStats,
): AsyncGenerator<TcpPacket> {
  const decoder: CaptureDecoder = format === 'pcap' ? pcapDecoder(source) : pcapngDecoder(source);
  for await (const chunk of input) {
    for (const record of decoder.push(chunk)) {
      if (!SUPPORTED_LINKTYPES.has(record.linkType)) {
        throw captureUnsupported(
          source,
          `link type ${linkTypeName(record.linkType)} is not supported`,
          'gw explain reads Ethernet (with VLAN tags), Linux cooked v1/v2 (-i any), BSD loopback and raw IP; re-capture on such an interface',
        );
      }
      const packet = packetOf(record, stats);
      if (packet !== undefined) yield packet;
    }
  }
  decoder.end();
  if (stats.frames === 0) {
    throw captureUnsupported(
      source,
      `the ${format} file holds no packets, only its file header`,
      'tcpdump saved none: capture again while the traffic flows, on the interface it uses (-i lo for 127.0.0.1 and ::1), with a filter that matches it, and stop tcpdump (Ctrl-C) only after the traffic',
    );
  }
  if (stats.tcp === 0) {
    throw captureUnsupported(
      source,
      `no TCP packets among ${stats.frames} frames`,
      'capture with a filter such as "tcp port 80"; gw explain explains TCP only',
    );
  }
}

/** Reads the first bytes of a stream without losing them: returns them and the rest. */
export async function peekStream(
  input: Readable,
  bytes: number,
): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first: Buffer[] = [];
  let length = 0;
  while (length < bytes) {
    const next = await iterator.next();
    if (next.done === true) break;
    first.push(next.value);
    length += next.value.length;
  }
  const head = Buffer.concat(first);
  async function* rest(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      for (;;) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield next.value;
      }
    } finally {
      // Stopped early (an error, or enough read): release the file now.
      await iterator.return?.();
    }
  }
  return { head, rest: rest() };
}
