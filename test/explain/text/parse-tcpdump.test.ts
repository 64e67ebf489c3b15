import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FLAG, type TcpPacket } from '../../../src/explain/types.js';
import {
  noTcpInText,
  parseTcpdumpText,
  tcpdumpTextParser,
  type TextParserOptions,
} from '../../../src/explain/text/parse-tcpdump.js';
import { SERVICE_NAME_COUNT } from '../../../src/explain/text/services.js';
import { isGwError } from '../../../src/shared/errors.js';

function parse(text: string, options: TextParserOptions = {}): ReturnType<typeof parseTcpdumpText> {
  return parseTcpdumpText(text, 'test.txt', options);
}

function only(text: string, options: TextParserOptions = {}): TcpPacket {
  const { packets } = parse(text, options);
  assert.equal(packets.length, 1, `one packet from ${text}`);
  const [packet] = packets;
  assert.ok(packet !== undefined);
  return packet;
}

const HANDSHAKE = `\
06:47:49.881498 IP 127.0.0.1.55836 > 127.0.0.1.80: Flags [S], seq 1464992902, win 65495, options [mss 65495,sackOK,TS val 1391200515 ecr 0,nop,wscale 10], length 0
06:47:49.881512 IP 127.0.0.1.80 > 127.0.0.1.55836: Flags [S.], seq 59968692, ack 1464992903, win 65483, options [mss 65495,sackOK,TS val 232861996 ecr 1391200515,nop,wscale 10], length 0
06:47:49.881525 IP 127.0.0.1.55836 > 127.0.0.1.80: Flags [.], ack 1, win 64, options [nop,nop,TS val 1391200515 ecr 232861996], length 0
06:47:49.882831 IP 127.0.0.1.55836 > 127.0.0.1.80: Flags [P.], seq 1:60, ack 1, win 64, options [nop,nop,TS val 1391200516 ecr 232861996], length 59: HTTP: GET / HTTP/1.1
06:47:49.882839 IP 127.0.0.1.80 > 127.0.0.1.55836: Flags [.], ack 60, win 64, options [nop,nop,TS val 232861997 ecr 1391200516], length 0
`;

describe('tcpdump text: one line', () => {
  it('reads endpoints, flags, numbers, window, length and options of a SYN', () => {
    const packet = only(HANDSHAKE.split('\n')[0] ?? '');
    assert.deepEqual(packet, {
      index: 1,
      time: 6 * 3600 + 47 * 60 + 49 + 0.881498,
      src: { address: '127.0.0.1', port: 55836 },
      dst: { address: '127.0.0.1', port: 80 },
      ipVersion: 4,
      flags: FLAG.SYN,
      seq: 1464992902,
      ack: 0,
      win: 65495,
      len: 0,
      options: { mss: 65495, sackPermitted: true, tsVal: 1391200515, tsEcr: 0, wscale: 10 },
    });
  });

  it('maps every flag letter to its bit, [none] to no flags', () => {
    const cases: [string, number][] = [
      ['S', FLAG.SYN],
      ['S.', FLAG.SYN | FLAG.ACK],
      ['.', FLAG.ACK],
      ['P.', FLAG.PSH | FLAG.ACK],
      ['F.', FLAG.FIN | FLAG.ACK],
      ['R', FLAG.RST],
      ['R.', FLAG.RST | FLAG.ACK],
      ['FP.', FLAG.FIN | FLAG.PSH | FLAG.ACK],
      ['SEW', FLAG.SYN | FLAG.ECE | FLAG.CWR],
      ['S.E', FLAG.SYN | FLAG.ACK | FLAG.ECE],
      ['P.U', FLAG.PSH | FLAG.ACK | FLAG.URG],
      ['.W', FLAG.ACK | FLAG.CWR],
      ['U', FLAG.URG],
      ['none', 0],
    ];
    for (const [letters, flags] of cases) {
      const packet = only(
        `1.000000 IP 10.0.0.1.1000 > 10.0.0.2.80: Flags [${letters}], seq 5, ack 9, win 10, urg 1, length 0`,
      );
      assert.equal(packet.flags, flags, letters);
    }
  });

  it('keeps what follows the length as the note', () => {
    const packet = only(HANDSHAKE.split('\n')[3] ?? '', { sequenceNumbers: 'absolute' });
    assert.equal(packet.note, 'HTTP: GET / HTTP/1.1');
    assert.equal(packet.len, 59);
  });

  it('reads host and service names as printed without -n', () => {
    const packet = only(
      '1.5 IP 192.168.1.7.52144 > www.baidu.com.http: Flags [S], seq 7, win 64240, length 0',
    );
    assert.deepEqual(packet.src, { address: '192.168.1.7', port: 52144 });
    assert.deepEqual(packet.dst, { address: 'www.baidu.com', port: 80 });
    const names: [string, number][] = [
      ['https', 443],
      ['ssh', 22],
      ['domain', 53],
      ['imap2', 143],
      ['mysql', 3306],
      ['postgresql', 5432],
      ['redis', 6379],
      ['http-alt', 8080],
      ['cslistener', 9000],
    ];
    for (const [name, port] of names) {
      const line = `1.5 IP localhost.40000 > localhost.${name}: Flags [S], seq 7, win 1, length 0`;
      assert.equal(only(line).dst.port, port, name);
    }
    assert.ok(SERVICE_NAME_COUNT > 300, `${SERVICE_NAME_COUNT} service names`);
  });

  it('skips a port name it does not know, saying to print numbers', () => {
    const { packets, stats } = parse(
      '1.5 IP a.40000 > b.no-such-service: Flags [S], seq 7, win 1, length 0\n',
    );
    assert.equal(packets.length, 0);
    assert.match(stats.firstUnparsed?.reason ?? '', /no-such-service.*-nn/);
  });

  it('ignores options whose length tcpdump flagged and caps the window scale at 14', () => {
    const packet = only(
      '1.5 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 7, win 1, options [mss 1460[len 5],wscale 15,unknown-76 0102,sackOK,eol], length 0',
    );
    assert.deepEqual(packet.options, { wscale: 14, sackPermitted: true });
  });

  it('reads IPv6 lines and spells addresses as the pcap readers do', () => {
    const packet = only(
      '1.5 IP6 0:0:0:0:0:0:0:1.40000 > ::ffff:10.0.0.1.80: Flags [S], seq 7, win 1, length 0',
    );
    assert.equal(packet.ipVersion, 6);
    assert.deepEqual(packet.src, { address: '::1', port: 40000 });
    assert.deepEqual(packet.dst, { address: '::ffff:10.0.0.1', port: 80 });
    // tcpdump prints IPv4-compatible addresses with a dotted tail; RFC 5952 does not.
    assert.equal(
      only('1.5 IP6 ::1.2.3.4.5 > ::1.80: Flags [S], seq 7, win 1, length 0').src.address,
      '::102:304',
    );
  });

  it('tells IPv6 from the prefix when hosts are names', () => {
    const packet = only(
      '1.5 IP6 localhost.40000 > localhost.http: Flags [S], seq 7, win 1, length 0',
    );
    assert.equal(packet.ipVersion, 6);
    assert.equal(
      only(
        '1.5 00:00:00:00:00:00 > 00:00:00:00:00:00, ethertype IPv6 (0x86dd), length 74: ip6-localhost.1 > ip6-localhost.2: Flags [S], seq 7, win 1, length 0',
      ).ipVersion,
      6,
    );
  });

  it('reads the interface and direction of -i any, with and without -e', () => {
    const v2 = only(
      '06:58:34.486328 lo    In  IP6 ::1.43502 > ::1.80: Flags [S], seq 1, win 1, length 0',
    );
    assert.equal(v2.iface, 'lo');
    assert.equal(v2.direction, 'in');
    const out = only(
      '07:01:21.534224 eth0  Out ifindex 2 2a:a2:9c:75:1c:6e ethertype IPv4 (0x0800), length 80: 10.231.0.1.40738 > 10.231.0.2.9000: Flags [S], seq 1, win 1, length 0',
    );
    assert.equal(out.iface, 'eth0');
    assert.equal(out.direction, 'out');
    const v1 = only(
      '07:01:21.534241  In 52:47:a5:88:8b:90 ethertype IPv4 (0x0800), length 76: 10.231.0.2.9000 > 10.231.0.1.40738: Flags [S.], seq 2, ack 2, win 1, length 0',
    );
    assert.equal(v1.iface, undefined);
    assert.equal(v1.direction, 'in');
  });

  it('skips a TCP header quoted in an ICMP error or carried in a tunnel, as the pcap readers do', () => {
    const { packets, stats } = parse(
      [
        '1.1 IP 10.0.0.9 > 10.0.0.1: ICMP host 10.0.0.2 unreachable, length 64: IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 1, length 0',
        '1.2 IP 1.1.1.1 > 2.2.2.2: GREv0, length 64: IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 1, length 0',
        '1.3 IP 1.1.1.1 > 2.2.2.2: IP6 ::1.1 > ::2.2: Flags [S], seq 1, win 1, length 0',
      ].join('\n'),
    );
    assert.equal(packets.length, 0);
    assert.equal(stats.frames, 3);
    assert.equal(stats.skipped.get('ICMP'), 1);
    assert.equal(stats.skipped.get('tunnelled packet (IP in IP, GRE, ...)'), 2);
  });

  it('skips lines cut short by the snapshot length, and -q lines, with their reasons', () => {
    const { packets, stats } = parse(
      [
        '1.1 IP 10.0.0.1.1 > 10.0.0.2.2: Flags [S], seq 1, win 1, options [mss 1460,[|tcp]>',
        '1.2 IP 10.0.0.1.1 > 10.0.0.2.2: tcp 0',
      ].join('\n'),
    );
    assert.equal(packets.length, 0);
    assert.equal(stats.skipped.get('TCP header cut short by the snapshot length'), 1);
    assert.equal(stats.skipped.get('TCP without details (tcpdump -q)'), 1);
  });
});

describe('tcpdump text: lines around the packets', () => {
  it('numbers packets as frames: UDP, ICMP and ARP lines count, banners and blanks do not', () => {
    const { packets, stats } = parse(
      [
        'reading from file x.pcap, link-type EN10MB (Ethernet), snapshot length 262144',
        '',
        '06:48:23.129879 IP 127.0.0.1.48493 > 127.0.0.1.9999: UDP, length 4',
        '06:48:23.130463 IP 127.0.0.1 > 127.0.0.1: ICMP 127.0.0.1 udp port 9999 unreachable, length 40',
        '07:01:04.830547 ARP, Request who-has 10.231.0.2 tell 10.231.0.1, length 28',
        '06:48:23.181953 IP 127.0.0.1.40096 > 127.0.0.1.9998: Flags [S], seq 2593257166, win 65495, length 0',
        '06:48:23.181962 IP 127.0.0.1.9998 > 127.0.0.1.40096: Flags [R.], seq 0, ack 2593257167, win 0, length 0',
        '5 packets captured',
        '5 packets received by filter',
        '0 packets dropped by kernel',
      ].join('\n'),
    );
    assert.deepEqual(
      packets.map((p) => p.index),
      [4, 5],
    );
    assert.equal(stats.frames, 5);
    assert.equal(stats.tcp, 2);
    assert.deepEqual(
      [...stats.skipped],
      [
        ['UDP', 1],
        ['ICMP', 1],
        ['ARP', 1],
      ],
    );
    assert.deepEqual(
      [...stats.otherLines],
      [
        ['banner', 4],
        ['blank', 1],
      ],
    );
    assert.deepEqual(stats.examples, [
      { index: 1, reason: 'UDP' },
      { index: 2, reason: 'ICMP' },
      { index: 3, reason: 'ARP' },
    ]);
    // the RST answers the SYN: relative numbering has not started, ack is absolute
    assert.equal(packets[1]?.ack, 2593257167);
  });

  it('reads the -v form, whose TCP part is on the indented line after the IP header', () => {
    const { packets, stats } = parse(
      [
        '06:47:49.881498 IP (tos 0x0, ttl 64, id 64568, offset 0, flags [DF], proto TCP (6), length 60)',
        '    localhost.55836 > localhost.http: Flags [S], cksum 0xfe30 (incorrect -> 0xbdca), seq 1464992902, win 65495, options [mss 65495,sackOK,TS val 1391200515 ecr 0,nop,wscale 10], length 0',
        '06:48:23.129879 IP (tos 0x0, ttl 64, id 62996, offset 0, flags [DF], proto UDP (17), length 32)',
        '    127.0.0.1.49976 > 127.0.0.1.9999: UDP, length 4',
        '06:47:49.882831 IP (tos 0x0, ttl 64, id 64570, offset 0, flags [DF], proto TCP (6), length 111)',
        '    localhost.55836 > localhost.http: Flags [P.], cksum 0xfe63 (correct), seq 1464992903:1464992962, ack 59968693, win 64, length 59: HTTP, length: 59',
        '\tGET / HTTP/1.1',
        '\tHost: 127.0.0.1',
        '\t',
      ].join('\n'),
    );
    assert.deepEqual(
      packets.map((p) => [p.index, p.seq, p.len]),
      [
        [1, 1464992902, 0],
        [3, 1464992903, 59],
      ],
    );
    assert.equal(packets[1]?.note, 'HTTP, length: 59');
    assert.equal(stats.frames, 3);
    assert.equal(stats.otherLines.get('continuation'), 3);
  });

  it('counts an IPv4 header line whose TCP line never came', () => {
    const parser = tcpdumpTextParser('t');
    parser.line(
      '06:47:49.881498 IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6), length 60)',
      1,
    );
    parser.finish();
    assert.equal(parser.stats.skipped.get('IPv4 header without its TCP line'), 1);
  });

  it('skips hex and ASCII dumps without counting them as packets', () => {
    const { packets, stats } = parse(
      [
        '06:47:49.881498 IP 127.0.0.1.55836 > 127.0.0.1.80: Flags [S], seq 1464992902, win 65495, length 0',
        '\t0x0000:  4500 003c fc38 4000 4006 4081 7f00 0001  E..<.8@.@.@.....',
        'E..<.8@.@.@............PWR...........0.........',
        '',
        '06:47:49.881512 IP 127.0.0.1.80 > 127.0.0.1.55836: Flags [S.], seq 59968692, ack 1464992903, win 65483, length 0',
      ].join('\n'),
    );
    assert.deepEqual(
      packets.map((p) => p.index),
      [1, 2],
    );
    assert.equal(stats.otherLines.get('hex dump'), 1);
    assert.equal(stats.otherLines.get('not a packet line'), 1);
  });

  it('takes packet numbers from tcpdump -#, with and without timestamps', () => {
    for (const stamp of ['06:47:49.881498 ', ' 00:00:00.000000 ', '']) {
      const { packets } = parse(
        `   41  ${stamp}IP 127.0.0.1.55836 > 127.0.0.1.80: Flags [S], seq 1, win 1, length 0\n`,
      );
      assert.equal(packets[0]?.index, 41, JSON.stringify(stamp));
    }
  });

  it('accepts CRLF line ends', () => {
    const { packets } = parse(HANDSHAKE.replaceAll('\n', '\r\n'));
    assert.equal(packets.length, 5);
    assert.equal(packets[3]?.note, 'HTTP: GET / HTTP/1.1');
  });

  it('keeps the first unusable line to quote when nothing is TCP', () => {
    const { packets, stats } = parse('hello\nworld\n');
    assert.equal(packets.length, 0);
    assert.deepEqual(stats.firstUnparsed, {
      lineNumber: 1,
      text: 'hello',
      reason: 'not a tcpdump packet line',
    });
    const error = noTcpInText('capture.txt', stats);
    assert.ok(isGwError(error, 'GW_ERR_CAPTURE_UNSUPPORTED'));
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /capture\.txt: .*line 1 .*"hello"/);
  });

  it('quotes a UDP-only capture by its first packet line', () => {
    const { stats } = parse(
      '\n06:48:23.129879 IP 127.0.0.1.48493 > 127.0.0.1.9999: UDP, length 4\n',
    );
    const first = stats.firstUnparsed;
    assert.ok(first !== undefined);
    assert.equal(first.lineNumber, 2);
    assert.equal(first.reason, 'UDP');
  });
});
