import { captureCorrupt, captureUnsupported } from '../../shared/errors.js';
import { ByteQueue } from './byte-queue.js';
import {
  recordLimit,
  STANDARD_MAX_RECORD_BYTES,
  type CaptureDecoder,
  type CaptureRecord,
} from './record.js';

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
  let maxRecord = STANDARD_MAX_RECORD_BYTES;
  let records = 0;
  const u32 = (b: Buffer, at: number): number => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
  return {
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
        linkType = u32(header, 20) & 0xffff;
        maxRecord = recordLimit(u32(header, 16));
      }
      for (;;) {
        const head = queue.peek(16);
        if (head === undefined) break;
        const included = u32(head, 8);
        if (included > maxRecord) {
          throw captureCorrupt(
            source,
            records,
            queue.offset,
            `record header claims ${included} bytes, more than any record of this file may hold (${maxRecord}: its snapshot length, at least ${STANDARD_MAX_RECORD_BYTES})`,
          );
        }
        const record = queue.take(16 + included);
        if (record === undefined) break;
        records++;
        out.push({
          linkType,
          interfaceId: 0,
          time: u32(head, 0) + u32(head, 4) / unitsPerSecond,
          originalLength: u32(head, 12),
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
