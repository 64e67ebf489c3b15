import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeFrame } from '../../src/explain/capture/decode-frame.js';
import { newStats } from '../../src/explain/capture/packets.js';
import { readBinaryCapture, sniffFormat } from '../../src/explain/capture/read-capture.js';
import type { TcpPacket } from '../../src/explain/types.js';
import { isGwError } from '../../src/shared/errors.js';
import { ethernet, ipv4Tcp, pcapFile, pcapngFile } from '../helpers/frames.js';

async function readAll(
  bytes: Buffer,
  chunk = 7,
): Promise<{ packets: TcpPacket[]; stats: ReturnType<typeof newStats> }> {
  const stats = newStats();
  const format = sniffFormat(bytes);
  assert.notEqual(format, 'text');
  function* chunks(): Generator<Buffer> {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  }
  const packets: TcpPacket[] = [];
  for await (const p of readBinaryCapture(
    toAsync(chunks()),
    format as 'pcap' | 'pcapng',
    'test',
    stats,
  ))
    packets.push(p);
  return { packets, stats };
}

async function* toAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
}

const SYN_OPTIONS = [2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7];

describe('capture readers', () => {
  it('reads a little-endian microsecond pcap of Ethernet frames, whatever the chunking', async () => {
    const file = pcapFile([
      {
        time: 1700000000.25,
        data: ethernet(ipv4Tcp({ flags: 0x02, seq: 7, options: SYN_OPTIONS })),
      },
      {
        time: 1700000000.5,
        data: ethernet(ipv4Tcp({ flags: 0x12, seq: 99, ack: 8, sport: 80, dport: 40000 })),
      },
    ]);
    for (const chunk of [1, 3, 16, 1000]) {
      const { packets } = await readAll(file, chunk);
      assert.equal(packets.length, 2);
      assert.equal(packets[0]?.time, 1700000000.25);
      assert.deepEqual(packets[0].options, {
        mss: 1460,
        sackPermitted: true,
        tsVal: 1,
        tsEcr: 0,
        wscale: 7,
      });
      assert.deepEqual([packets[1]?.seq, packets[1]?.ack, packets[1]?.flags], [99, 8, 0x12]);
    }
  });

  it('reads big-endian and nanosecond pcaps', async () => {
    const data = ethernet(ipv4Tcp());
    const be = await readAll(pcapFile([{ time: 1.000001, data }], { bigEndian: true }));
    assert.equal(be.packets.length, 1);
    const ns = await readAll(pcapFile([{ time: 5.123456789, data }], { nano: true }));
    assert.ok(Math.abs((ns.packets[0]?.time ?? 0) - 5.123456789) < 1e-9);
  });

  it('reads raw-IP, VLAN-tagged and loopback frames', async () => {
    const ip = ipv4Tcp({ seq: 42 });
    const raw = await readAll(pcapFile([{ time: 1, data: ip }], { linkType: 101 }));
    assert.equal(raw.packets[0]?.seq, 42);
    const vlan = await readAll(pcapFile([{ time: 1, data: ethernet(ip, 10) }]));
    assert.equal(vlan.packets[0]?.seq, 42);
    const nullHeader = Buffer.from([2, 0, 0, 0]);
    const loop = await readAll(
      pcapFile([{ time: 1, data: Buffer.concat([nullHeader, ip]) }], { linkType: 0 }),
    );
    assert.equal(loop.packets[0]?.seq, 42);
  });

  it('reads pcapng with several interfaces, their link types and timestamp resolutions', async () => {
    const file = pcapngFile(
      [
        { linkType: 1, name: 'eth0' },
        { linkType: 101, tsresol: 9 },
      ],
      [
        { time: 10.5, data: ethernet(ipv4Tcp({ seq: 1 })), iface: 0 },
        { time: 11.000000001, data: ipv4Tcp({ seq: 2 }), iface: 1 },
      ],
    );
    const { packets } = await readAll(file, 5);
    assert.deepEqual(
      packets.map((p) => p.seq),
      [1, 2],
    );
    assert.equal(packets[0]?.iface, 'eth0');
    assert.ok(Math.abs((packets[1]?.time ?? 0) - 11.000000001) < 1e-6);
  });

  it('counts and skips frames that are not TCP', async () => {
    const udp = ipv4Tcp();
    udp[9] = 17;
    const arp = Buffer.concat([Buffer.alloc(12, 1), Buffer.from([0x08, 0x06]), Buffer.alloc(28)]);
    const { packets, stats } = await readAll(
      pcapFile([
        { time: 1, data: ethernet(udp) },
        { time: 2, data: arp },
        { time: 3, data: ethernet(ipv4Tcp()) },
      ]),
    );
    assert.equal(packets.length, 1);
    assert.equal(packets[0]?.index, 3);
    assert.equal(stats.skipped.get('UDP'), 1);
    assert.equal(stats.skipped.get('ethertype 0x0806'), 1);
  });

  it('says a capture without a TCP packet is unsupported input, as the text reader does', async () => {
    const udp = ipv4Tcp();
    udp[9] = 17;
    await assert.rejects(readAll(pcapFile([{ time: 1, data: ethernet(udp) }])), (err) => {
      assert.ok(isGwError(err, 'GW_ERR_CAPTURE_UNSUPPORTED'), String(err));
      assert.equal(err.exitCode, 2);
      assert.match(err.message, /no TCP packets among 1 frames/);
      return true;
    });
  });

  it('names an unsupported link type', async () => {
    await assert.rejects(
      readAll(pcapFile([{ time: 1, data: Buffer.alloc(40) }], { linkType: 105 })),
      (err) => {
        assert.ok(isGwError(err, 'GW_ERR_CAPTURE_UNSUPPORTED'));
        assert.match(err.message, /IEEE802_11/);
        return true;
      },
    );
  });

  it('reports a truncated file with the packets read and the byte where it broke', async () => {
    const file = pcapFile([
      { time: 1, data: ethernet(ipv4Tcp()) },
      { time: 2, data: ethernet(ipv4Tcp()) },
    ]);
    await assert.rejects(readAll(file.subarray(0, file.length - 10)), (err) => {
      assert.ok(isGwError(err, 'GW_ERR_CAPTURE_CORRUPT'));
      assert.match(err.message, /after 1 packets/);
      assert.match(err.message, new RegExp(`byte ${24 + 16 + 54}`));
      return true;
    });
  });

  it('reports a pcap record longer than the snapshot length at its header, not at the end of the file', async () => {
    const file = pcapFile([
      { time: 1, data: ethernet(ipv4Tcp()) },
      { time: 2, data: ethernet(ipv4Tcp()) },
    ]);
    file.writeUInt32LE(100_000_000, 24 + 8); // the first record's captured length
    await assert.rejects(readAll(file), (err) => {
      assert.ok(isGwError(err, 'GW_ERR_CAPTURE_CORRUPT'), String(err));
      assert.match(err.message, /record header claims 100000000 bytes/);
      assert.match(err.message, /byte 24\b/);
      return true;
    });
  });

  it('reports a pcapng packet block longer than its interfaces allow at its header', async () => {
    const start = pcapngFile([{ linkType: 1 }], []);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(6, 0); // an enhanced packet block...
    head.writeUInt32LE(100_000_000, 4); // ...claiming 100 MB
    await assert.rejects(readAll(Buffer.concat([start, head])), (err) => {
      assert.ok(isGwError(err, 'GW_ERR_CAPTURE_CORRUPT'), String(err));
      assert.match(err.message, /packet block claims 100000000 bytes/);
      return true;
    });
  });

  it('reports a pcapng block too short for its fields as corrupt, naming the block', async () => {
    const start = pcapngFile([{ linkType: 1 }], []);
    const block = (type: number, body: Buffer = Buffer.alloc(0)): Buffer => {
      const head = Buffer.alloc(8);
      head.writeUInt32LE(type, 0);
      head.writeUInt32LE(12 + body.length, 4);
      const tail = Buffer.alloc(4);
      tail.writeUInt32LE(12 + body.length, 0);
      return Buffer.concat([head, body, tail]);
    };
    const cases: [string, Buffer][] = [
      ['enhanced packet', block(6)],
      ['interface description', block(1)],
      ['simple packet', block(3)],
      ['packet', block(2)],
    ];
    for (const [name, short] of cases) {
      await assert.rejects(readAll(Buffer.concat([start, short])), (err) => {
        assert.ok(isGwError(err, 'GW_ERR_CAPTURE_CORRUPT'), String(err));
        assert.match(err.message, new RegExp(`${name} block of 12 bytes is too short`));
        return true;
      });
    }
    // An option whose value runs past the end of its block is ignored, not read out of bounds.
    const idb = Buffer.alloc(12);
    idb.writeUInt16LE(1, 0); // Ethernet
    idb.writeUInt16LE(14, 8); // if_tsoffset...
    idb.writeUInt16LE(8, 10); // ...of 8 bytes, none of which follow
    // The file then holds no packet at all, which is what gets reported (not a RangeError).
    await assert.rejects(readAll(Buffer.concat([start, block(1, idb)])), (err) => {
      assert.ok(isGwError(err, 'GW_ERR_CAPTURE_UNSUPPORTED'), String(err));
      assert.match(err.message, /holds no packets, only its file header/);
      return true;
    });
  });

  it('never crashes on random or mutated input: packets, or a GwError', async () => {
    const valid = pcapFile([
      { time: 1, data: ethernet(ipv4Tcp({ options: SYN_OPTIONS })) },
      { time: 2, data: ethernet(ipv4Tcp({ payload: Buffer.from('hello') })) },
    ]);
    const validNg = pcapngFile([{ linkType: 1 }], [{ time: 1, data: ethernet(ipv4Tcp()) }]);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(valid, validNg),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }),
        fc.nat({ max: 200 }),
        async (base, flips, cut) => {
          const bytes = Buffer.from(base.subarray(0, Math.max(4, base.length - cut)));
          for (const [at, value] of flips) bytes[4 + (at % (bytes.length - 4))] = value;
          try {
            await readAll(bytes, 13);
          } catch (err) {
            assert.ok(isGwError(err), String(err));
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('decodes any byte string without throwing', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1, 101, 113, 276, 228, 229),
        fc.uint8Array({ maxLength: 120 }),
        (linkType, bytes) => {
          const result = decodeFrame(linkType, bytes);
          assert.ok(['tcp', 'other'].includes(result.kind));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
