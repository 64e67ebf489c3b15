/**
 * Test helpers: reads a sample pcap with the binary reader and compares its
 * packets with what the text parser made of a tcpdump rendering of it.
 */
import { readFile } from 'node:fs/promises';
import { newStats } from '../../../src/explain/capture/packets.js';
import { readBinaryCapture, sniffFormat } from '../../../src/explain/capture/read-capture.js';
import type { TcpPacket } from '../../../src/explain/types.js';

export const SAMPLES = new URL('./samples/', import.meta.url);

export async function sample(name: string): Promise<string> {
  return readFile(new URL(name, SAMPLES), 'utf8');
}

/** The TCP packets of a pcap/pcapng file, as the binary reader gives them. */
export async function readPcap(file: URL): Promise<TcpPacket[]> {
  const bytes = await readFile(file);
  const format = sniffFormat(bytes);
  if (format === 'text') throw new Error(`${file.pathname} is not a pcap`);
  async function* chunks(): AsyncGenerator<Buffer> {
    yield await Promise.resolve(bytes);
  }
  const packets: TcpPacket[] = [];
  for await (const packet of readBinaryCapture(chunks(), format, file.pathname, newStats())) {
    packets.push(packet);
  }
  return packets;
}

/**
 * How to compare: times as they are, since the first packet (forms without
 * a date), or not at all (-t); addresses, or ports only (names).
 */
export interface Comparison {
  readonly time?: 'absolute' | 'relative' | 'none';
  readonly portsOnly?: boolean;
}

/** The fields both inputs carry; `time` to the microsecond. */
export function comparable(packet: TcpPacket, how: Comparison = {}, origin = 0): object {
  const hasAck = (packet.flags & 0x10) !== 0;
  const time = how.time === 'relative' ? packet.time - origin : packet.time;
  return {
    index: packet.index,
    ...(how.time === 'none' ? {} : { time: Math.round(time * 1e6) }),
    ...(how.portsOnly === true
      ? { srcPort: packet.src.port, dstPort: packet.dst.port }
      : { src: packet.src, dst: packet.dst }),
    ipVersion: packet.ipVersion,
    flags: packet.flags,
    seq: packet.seq,
    // The text has no ack field without the ACK flag.
    ack: hasAck ? packet.ack : 0,
    win: packet.win,
    len: packet.len,
    options: { ...packet.options },
  };
}

/** The UTC date of a packet, as `YYYY-MM-DD` (for the `date` option). */
export function dateOf(packet: TcpPacket | undefined): string {
  return new Date((packet?.time ?? 0) * 1000).toISOString().slice(0, 10);
}

/** Lists the packets that differ, as readable lines (empty when all agree). */
export function differences(
  expected: readonly TcpPacket[],
  actual: readonly TcpPacket[],
  how: Comparison = {},
): string[] {
  const out: string[] = [];
  if (expected.length !== actual.length) {
    out.push(`packet count: expected ${expected.length}, got ${actual.length}`);
  }
  const expectedOrigin = expected[0]?.time ?? 0;
  const actualOrigin = actual[0]?.time ?? 0;
  expected.forEach((packet, i) => {
    const other = actual[i];
    if (other === undefined) return;
    const e = JSON.stringify(comparable(packet, how, expectedOrigin));
    const a = JSON.stringify(comparable(other, how, actualOrigin));
    if (e !== a) out.push(`#${i + 1}\n  pcap: ${e}\n  text: ${a}`);
  });
  return out;
}
