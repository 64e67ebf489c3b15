/** Builders of raw frames and capture files, for reader tests. */

export interface SegmentSpec {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  win?: number;
  payload?: Uint8Array;
  /** Raw TCP option bytes (padded to 4 by the builder). */
  options?: number[];
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

/** An IPv4 packet carrying one TCP segment. */
export function ipv4Tcp(spec: SegmentSpec = {}): Buffer {
  const options = [...(spec.options ?? [])];
  while (options.length % 4 !== 0) options.push(1);
  const payload = Buffer.from(spec.payload ?? new Uint8Array(0));
  const tcpLength = 20 + options.length;
  const total = 20 + tcpLength + payload.length;
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(total, 2);
  ip[8] = 64;
  ip[9] = 6;
  Buffer.from(ipv4Bytes(spec.src ?? '10.0.0.1')).copy(ip, 12);
  Buffer.from(ipv4Bytes(spec.dst ?? '10.0.0.2')).copy(ip, 16);
  const tcp = Buffer.alloc(tcpLength);
  tcp.writeUInt16BE(spec.sport ?? 40000, 0);
  tcp.writeUInt16BE(spec.dport ?? 80, 2);
  tcp.writeUInt32BE(spec.seq ?? 1000, 4);
  tcp.writeUInt32BE(spec.ack ?? 0, 8);
  tcp[12] = (tcpLength / 4) << 4;
  tcp[13] = spec.flags ?? 0x02;
  tcp.writeUInt16BE(spec.win ?? 65535, 14);
  Buffer.from(options).copy(tcp, 20);
  return Buffer.concat([ip, tcp, payload]);
}

/** An Ethernet frame around an IP packet (optionally with one 802.1Q tag). */
export function ethernet(ip: Buffer, vlan?: number): Buffer {
  const macs = Buffer.alloc(12, 0xaa);
  const type = Buffer.from([
    ip[0] !== undefined && ip[0] >> 4 === 6 ? 0x86 : 0x08,
    ip[0] !== undefined && ip[0] >> 4 === 6 ? 0xdd : 0x00,
  ]);
  const tag =
    vlan === undefined ? Buffer.alloc(0) : Buffer.from([0x81, 0x00, vlan >> 8, vlan & 0xff]);
  return Buffer.concat([macs, tag, type, ip]);
}

export interface RecordSpec {
  time: number;
  data: Buffer;
}

/** A classic pcap file. */
export function pcapFile(
  records: readonly RecordSpec[],
  options: { linkType?: number; nano?: boolean; bigEndian?: boolean } = {},
): Buffer {
  const be = options.bigEndian === true;
  const w32 = (b: Buffer, v: number, at: number): void => {
    if (be) b.writeUInt32BE(v >>> 0, at);
    else b.writeUInt32LE(v >>> 0, at);
  };
  const w16 = (b: Buffer, v: number, at: number): void => {
    if (be) b.writeUInt16BE(v, at);
    else b.writeUInt16LE(v, at);
  };
  const header = Buffer.alloc(24);
  w32(header, options.nano === true ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(header, 2, 4);
  w16(header, 4, 6);
  w32(header, 65535, 16);
  w32(header, options.linkType ?? 1, 20);
  const parts: Buffer[] = [header];
  const scale = options.nano === true ? 1e9 : 1e6;
  for (const r of records) {
    const h = Buffer.alloc(16);
    const seconds = Math.floor(r.time);
    w32(h, seconds, 0);
    w32(h, Math.round((r.time - seconds) * scale), 4);
    w32(h, r.data.length, 8);
    w32(h, r.data.length, 12);
    parts.push(h, r.data);
  }
  return Buffer.concat(parts);
}

function block(type: number, body: Buffer): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const length = padded.length + 12;
  const out = Buffer.alloc(length);
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(length, 4);
  padded.copy(out, 8);
  out.writeUInt32LE(length, length - 4);
  return out;
}

/** A little-endian pcapng file with the given interfaces (link types) and packets. */
export function pcapngFile(
  interfaces: readonly { linkType: number; tsresol?: number; name?: string }[],
  packets: readonly (RecordSpec & { iface?: number })[],
): Buffer {
  const shbBody = Buffer.alloc(16);
  shbBody.writeUInt32LE(0x1a2b3c4d, 0);
  shbBody.writeUInt16LE(1, 4);
  shbBody.writeBigInt64LE(-1n, 8);
  const parts = [block(0x0a0d0d0a, shbBody)];
  for (const iface of interfaces) {
    const options: Buffer[] = [];
    if (iface.name !== undefined) {
      const name = Buffer.from(iface.name);
      const opt = Buffer.alloc(4 + Math.ceil(name.length / 4) * 4);
      opt.writeUInt16LE(2, 0);
      opt.writeUInt16LE(name.length, 2);
      name.copy(opt, 4);
      options.push(opt);
    }
    if (iface.tsresol !== undefined) {
      const opt = Buffer.alloc(8);
      opt.writeUInt16LE(9, 0);
      opt.writeUInt16LE(1, 2);
      opt[4] = iface.tsresol;
      options.push(opt);
    }
    if (options.length > 0) options.push(Buffer.alloc(4));
    const body = Buffer.alloc(8);
    body.writeUInt16LE(iface.linkType, 0);
    body.writeUInt32LE(65535, 4);
    parts.push(block(1, Buffer.concat([body, ...options])));
  }
  for (const p of packets) {
    const iface = interfaces[p.iface ?? 0];
    const resolution = iface?.tsresol ?? 6;
    const units = BigInt(Math.round(p.time * 10 ** resolution));
    const body = Buffer.alloc(20);
    body.writeUInt32LE(p.iface ?? 0, 0);
    body.writeUInt32LE(Number(units >> 32n), 4);
    body.writeUInt32LE(Number(units & 0xffffffffn), 8);
    body.writeUInt32LE(p.data.length, 12);
    body.writeUInt32LE(p.data.length, 16);
    parts.push(block(6, Buffer.concat([body, p.data])));
  }
  return Buffer.concat(parts);
}
