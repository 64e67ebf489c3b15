import { captureCorrupt, captureUnsupported } from '../../shared/errors.js';
import { ByteQueue } from './byte-queue.js';
import { recordLimit, type CaptureDecoder, type CaptureRecord } from './record.js';

/** Block types (pcapng draft, IETF opsawg). */
const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const OBSOLETE_PB = 0x00000002;
const SPB = 0x00000003;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const MAX_BLOCK_BYTES = 256 * 1024 * 1024;
/** A packet block's bytes besides the packet: header, fixed fields, trailer, and room for options. */
const PACKET_BLOCK_EXTRA_BYTES = 32 + 64 * 1024;

/** The fixed fields each block gw reads must have, in bytes of its body. */
const LEAST_BODY_BYTES = new Map([
  [IDB, { name: 'interface description', bytes: 8 }],
  [EPB, { name: 'enhanced packet', bytes: 20 }],
  [OBSOLETE_PB, { name: 'packet', bytes: 20 }],
  [SPB, { name: 'simple packet', bytes: 4 }],
]);

interface Interface {
  readonly linkType: number;
  /** Timestamp units per second (if_tsresol; 10^6 by default). */
  readonly unitsPerSecond: number;
  /** if_tsoffset, seconds added to every timestamp. */
  readonly offsetSeconds: number;
  /** The most bytes of a packet captured on it (0: no limit given). */
  readonly snapLength: number;
  readonly name?: string;
}

/**
 * An incremental reader of pcapng files: section header, interface
 * description, enhanced, simple and (obsolete) packet blocks, any number of
 * interfaces with their own link types and timestamp resolutions, several
 * sections with either byte order. Other blocks are skipped.
 */
export function pcapngDecoder(source: string): CaptureDecoder {
  const queue = new ByteQueue();
  let little = true;
  let interfaces: Interface[] = [];
  /** The longest packet block this section's interfaces allow. */
  let packetBlockLimit = recordLimit(0) + PACKET_BLOCK_EXTRA_BYTES;
  let started = false;
  let records = 0;
  const u32 = (b: Buffer, at: number): number => (little ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const u16 = (b: Buffer, at: number): number => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));

  const blockLength = (head: Buffer): number => {
    const type = head.readUInt32LE(0); // SHB's type is a palindrome
    if (type === SHB) {
      const magic = head.readUInt32LE(8);
      if (magic === BYTE_ORDER_MAGIC) little = true;
      else if (magic === 0x4d3c2b1a) little = false;
      else
        throw captureCorrupt(
          source,
          records,
          queue.offset,
          'section header with a bad byte-order magic',
        );
    } else if (!started) {
      throw captureUnsupported(
        source,
        'not a pcapng file',
        'give a pcap, pcapng or tcpdump text file',
      );
    }
    return u32(head, 4);
  };

  const readBlock = (block: Buffer, out: CaptureRecord[]): void => {
    const type = u32(block, 0);
    const body = block.subarray(8, block.length - 4);
    const least = LEAST_BODY_BYTES.get(type);
    if (least !== undefined && body.length < least.bytes) {
      throw captureCorrupt(
        source,
        records,
        queue.offset,
        `${least.name} block of ${block.length} bytes is too short for its fields`,
      );
    }
    if (type === SHB) {
      started = true;
      interfaces = []; // interface ids are per section
      packetBlockLimit = recordLimit(0) + PACKET_BLOCK_EXTRA_BYTES;
    } else if (type === IDB) {
      const iface = describeInterface(body, u16, little);
      interfaces.push(iface);
      packetBlockLimit = Math.max(
        packetBlockLimit,
        recordLimit(iface.snapLength) + PACKET_BLOCK_EXTRA_BYTES,
      );
    } else if (type === EPB || type === OBSOLETE_PB) {
      const epb = type === EPB;
      const id = epb ? u32(body, 0) : u16(body, 0);
      const iface = interfaces[id];
      if (iface === undefined)
        throw captureCorrupt(source, records, queue.offset, `packet on undeclared interface ${id}`);
      const units = u32(body, 4) * 4294967296 + u32(body, 8);
      const captured = u32(body, 12);
      if (20 + captured > body.length)
        throw captureCorrupt(source, records, queue.offset, 'packet longer than its block');
      records++;
      out.push(record(iface, id, units, u32(body, 16), body.subarray(20, 20 + captured)));
    } else if (type === SPB) {
      const iface = interfaces[0];
      if (iface === undefined)
        throw captureCorrupt(source, records, queue.offset, 'simple packet before any interface');
      const original = u32(body, 0);
      records++;
      // A simple packet block has no timestamp.
      out.push(
        record(iface, 0, 0, original, body.subarray(4, 4 + Math.min(original, body.length - 4))),
      );
    }
  };

  return {
    push(chunk: Uint8Array): CaptureRecord[] {
      queue.push(chunk);
      const out: CaptureRecord[] = [];
      for (;;) {
        const head = queue.peek(12);
        if (head === undefined) break;
        const length = blockLength(head);
        if (length < 12 || length % 4 !== 0 || length > MAX_BLOCK_BYTES) {
          throw captureCorrupt(
            source,
            records,
            queue.offset,
            `block length ${length} is impossible`,
          );
        }
        const type = u32(head, 0);
        if ((type === EPB || type === OBSOLETE_PB || type === SPB) && length > packetBlockLimit) {
          // Known at the block's header: no buffering up to where it would end.
          throw captureCorrupt(
            source,
            records,
            queue.offset,
            `packet block claims ${length} bytes, more than its interfaces' snapshot length allows (${packetBlockLimit} with the block's own fields)`,
          );
        }
        const block = queue.peek(length);
        if (block === undefined) break;
        if (u32(block, length - 4) !== length) {
          throw captureCorrupt(
            source,
            records,
            queue.offset,
            'block lengths at its start and end differ',
          );
        }
        readBlock(block, out);
        queue.skip(length);
      }
      return out;
    },
    end() {
      if (queue.length > 0) {
        throw captureCorrupt(
          source,
          records,
          queue.offset,
          `file ends inside a block (${queue.length} bytes left)`,
        );
      }
    },
  };
}

function record(
  iface: Interface,
  id: number,
  units: number,
  original: number,
  data: Buffer,
): CaptureRecord {
  const base = {
    linkType: iface.linkType,
    interfaceId: id,
    time: units / iface.unitsPerSecond + iface.offsetSeconds,
    originalLength: original,
    data,
  };
  return iface.name === undefined ? base : { ...base, interfaceName: iface.name };
}

/** Reads an interface description: link type and the options gw uses. */
function describeInterface(
  body: Buffer,
  u16: (b: Buffer, at: number) => number,
  little: boolean,
): Interface {
  const linkType = u16(body, 0);
  const snapLength = little ? body.readUInt32LE(4) : body.readUInt32BE(4);
  let unitsPerSecond = 1e6;
  let offsetSeconds = 0;
  let name: string | undefined;
  let at = 8;
  while (at + 4 <= body.length) {
    const code = u16(body, at);
    const length = u16(body, at + 2);
    if (code === 0 || at + 4 + length > body.length) break; // end of options, or cut short
    const value = body.subarray(at + 4, at + 4 + length);
    if (code === 2) name = value.toString('utf8').replace(/\0+$/, '');
    if (code === 9 && length >= 1) {
      const resolution = value[0] ?? 6;
      unitsPerSecond = resolution & 0x80 ? 2 ** (resolution & 0x7f) : 10 ** resolution;
    }
    if (code === 14 && length >= 8) {
      offsetSeconds = Number(little ? value.readBigInt64LE(0) : value.readBigInt64BE(0));
    }
    at += 4 + Math.ceil(length / 4) * 4;
  }
  return name === undefined
    ? { linkType, unitsPerSecond, offsetSeconds, snapLength }
    : { linkType, unitsPerSecond, offsetSeconds, snapLength, name };
}
