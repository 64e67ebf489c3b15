import { captureCorrupt, captureUnsupported } from '../../shared/errors.js';
import { ByteQueue } from './byte-queue.js';
import type { CaptureDecoder, CaptureRecord } from './record.js';

/** Larger records than this are taken as corruption, not as packets. */
const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/**
 * An incremental reader of classic pcap files (the libpcap format): either
 * byte order, microsecond (`a1b2c3d4`) or nanosecond (`a1b23c4d`)
 * timestamps. Chunks go in, records come out; memory holds at most one
 * record plus one chunk, whatever the file size.
 */
export function pcapDecoder(source: string): CaptureDecoder {
  const queue = new ByteQueue();
  let little = true;
  let unitsPerSecond = 1e6;
  let linkType = -1;
  let records = 0;
  return {
    format: 'pcap',
    get records() {
      return records;
    },
    push(chunk: Uint8Array): CaptureRecord[] {
      queue.push(chunk);
      const out: CaptureRecord[] = [];
      if (linkType < 0) {
        const header = queue.take(24);
        if (header === undefined) return out;
        const magic = header.readUInt32LE(0);
        if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) little = true;
        else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) little = false;
        else
          throw captureUnsupported(
            source,
            'not a pcap file',
            'give a pcap, pcapng or tcpdump text file',
          );
        const normalized = little ? magic : header.readUInt32BE(0);
        unitsPerSecond = normalized === 0xa1b23c4d ? 1e9 : 1e6;
        // The low 16 bits are the link type; higher bits may carry FCS length.
        linkType = (little ? header.readUInt32LE(20) : header.readUInt32BE(20)) & 0xffff;
      }
      for (;;) {
        const head = queue.peek(16);
        if (head === undefined) break;
        const u32 = (at: number): number =>
          little ? head.readUInt32LE(at) : head.readUInt32BE(at);
        const included = u32(8);
        if (included > MAX_RECORD_BYTES) {
          throw captureCorrupt(
            source,
            records,
            queue.offset,
            `record header claims ${included} bytes`,
          );
        }
        const record = queue.take(16 + included);
        if (record === undefined) break;
        records++;
        out.push({
          linkType,
          interfaceId: 0,
          time: u32(0) + u32(4) / unitsPerSecond,
          originalLength: u32(12),
          data: record.subarray(16),
        });
      }
      return out;
    },
    end() {
      if (linkType < 0) {
        throw captureCorrupt(
          source,
          0,
          queue.offset + queue.length,
          'file ends inside the pcap header',
        );
      }
      if (queue.length > 0) {
        throw captureCorrupt(
          source,
          records,
          queue.offset,
          `file ends inside a record (${queue.length} bytes left)`,
        );
      }
    },
  };
}
