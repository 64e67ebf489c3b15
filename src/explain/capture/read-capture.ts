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
