/**
 * The sentences of the burst summary and the lab, in English and Chinese
 * (`--lang zh`). Every number printed names what it counts and on which side
 * (client or server). Pure.
 */

import { plural } from '../../shared/format.js';

/** Languages the echo tools explain themselves in. */
export type Lang = 'en' | 'zh';

/** The lab's scenarios, in the order they run. */
export type LabScenarioKind = 'sticky' | 'split' | 'length' | 'fixed' | 'line';

/** How a lab scenario's client read: Node's default 64 KiB, or a fixed buffer. */
function reads(lang: Lang, readBytes: number | undefined): string {
  if (readBytes === undefined) return lang === 'zh' ? '读缓冲 64 KiB' : '64 KiB reads';
  return lang === 'zh' ? `读缓冲 ${readBytes} 字节` : `${readBytes}-byte reads`;
}

export const WORDS = {
  en: {
    burstHead: (count: number, size: number, framing: string) =>
      `burst: ${plural(count, 'message')} of ${plural(size, 'byte')}, framing ${framing}`,
    counted:
      "every count below is the client's: its write() calls, and its read() calls that returned echo bytes",
    writes: 'client writes',
    writesNote: (split: boolean) =>
      split ? 'two write() calls per message' : 'one write() per message',
    reads: 'client reads',
    readsNote: "read() calls that returned echo bytes; not TCP segments, nor the server's reads",
    bytesBack: 'bytes echoed',
    bytesBackValue: (got: number, sent: number) => `${got} of ${sent} bytes came back`,
    rawNoMessages: 'raw framing has no messages: only bytes and reads can be counted',
    decoded: 'messages decoded',
    decodedValue: (got: number, sent: number) =>
      `${got} of ${sent} (rebuilt from the echo bytes by the client's decoder)`,
    mismatches: 'mismatches',
    mismatchesNote: 'echoes that differ from the message sent at that place',
    sticky: 'sticky reads',
    stickyNote: 'client reads that held bytes of several messages: 粘包',
    split: 'split reads',
    splitNote: 'client reads that began or ended inside a message: 拆包',
    naive: 'naive reader',
    naiveValue: (reads: number, wrong: number) =>
      `taking each client read as one message gives ${reads} messages, ${wrong} of them wrong`,
    framed: 'framing',
    framedValue: 'the decoder rebuilt every message whatever the reads looked like',
    elapsed: 'elapsed',
    firstMismatch: 'first mismatch',
    nagleOn: [
      "Nagle's algorithm was on (the default): a small write leaves at once only when nothing sent is",
      'still unacknowledged; later ones wait for that ACK, then leave together in one segment. On loopback',
      'the ACK comes fast (at once while the connection is new, or riding on an echo); a peer with nothing',
      'to send may delay it (delayed ACK: 40 ms or more on Linux), and Nagle then waits as long.',
      'Reads merge without Nagle too: a reader slower than the writer finds several messages waiting.',
    ],
    nagleOff: [
      '--nodelay turned Nagle off: every write left at once as its own segment. A smaller read count does',
      'not mean fewer segments: the segments were already waiting in the buffer when read() ran, and one',
      'read takes everything waiting. Sticky reads come from the reader, not only from Nagle. To count',
      'segments on the wire: sudo tcpdump -i lo -n -w cap.pcap port PORT, then gw explain cap.pcap.',
    ],
    labHead: (count: number, size: number) =>
      `Sticky and split packets (粘包/拆包): ${plural(count, 'message')} of ${plural(size, 'byte')}, each sent as its own write, echoed over loopback`,
    labCounted:
      'Every number is counted on the client: its write() calls, and its read() calls of the echoes (the server echoes each of its reads as one write).',
    labColumns: [
      'scenario\n(client read buffer)',
      'client\nwrites',
      'client\nreads',
      'sticky\nreads',
      'split\nreads',
      'echoed\nback',
      'naive reader\nwrong',
    ],
    labFixesNote: (readBytes: number) =>
      `The fixes read through the same ${readBytes}-byte buffer as the split row, so their reads are cut just as often: the splits come from the small buffer, not from the fix, and every message still comes back whole.`,
    labTooSmall: (size: number) =>
      `With ${size}-byte messages no read can cut a message (a read returns at least one byte): use --size 2 or more to see 拆包.`,
    labScenario: (kind: LabScenarioKind, readBytes: number | undefined, size: number): string => {
      const r = reads('en', readBytes);
      switch (kind) {
        case 'sticky':
          return `raw, ${r}: writes merge (粘包)`;
        case 'split':
          return size < 2
            ? `raw, ${r}: too small a message to cut (拆包)`
            : `raw, ${r}: reads cut messages (拆包)`;
        case 'length':
          return `fix 1: length header, ${r}`;
        case 'fixed':
          return `fix 2: fixed length, ${r}`;
        case 'line':
          return `fix 3: delimiter, ${r}`;
      }
    },
    naiveOf: (wrong: number, reads: number) => `${wrong} of ${reads} reads`,
    lessons: [
      'TCP is a byte stream: it keeps the bytes in order but not the boundaries between writes.',
      'Reads merge writes (粘包) when the sender coalesces small writes (Nagle) or the receiver reads late;',
      'reads cut a message (拆包) when it is larger than the read buffer, the socket buffer or the MSS.',
      'The fixes put the boundaries back into the bytes:',
      '  length header  read the header, then exactly that many bytes; any payload; costs the header on every message',
      '  fixed length   read exactly N bytes; simplest; wastes padding and caps the size',
      '  delimiter      read up to the delimiter (\\n); readable with nc; scans every byte, and the',
      '                 delimiter may not appear inside a message',
    ],
    tryIt:
      'Try it by hand: gw tcp-echo server --framing raw, then gw tcp-echo client --framing raw --burst 50',
    naiveFramed: 'n/a: framed',
    bytesOf: (got: number, sent: number) => `${got}/${sent} bytes`,
    messagesOf: (got: number, sent: number) => `${got}/${sent} messages`,
    bad: (n: number) => `(${n} bad)`,
  },
  zh: {
    burstHead: (count: number, size: number, framing: string) =>
      `连发：${count} 条消息，每条 ${size} 字节，分帧方式 ${framing}`,
    counted: '下面的数字都在客户端统计：它的 write() 调用，以及返回回显字节的 read() 调用',
    writes: '客户端写次数',
    writesNote: (split: boolean) => (split ? '每条消息两次 write()' : '每条消息一次 write()'),
    reads: '客户端读次数',
    readsNote: '返回回显字节的 read() 调用；不是 TCP 报文段，也不是服务端的读',
    bytesBack: '回显字节',
    bytesBackValue: (got: number, sent: number) => `发出 ${sent} 字节，收回 ${got} 字节`,
    rawNoMessages: 'raw 不分帧，没有“消息”可数：只能数字节和读次数',
    decoded: '解出的消息',
    decodedValue: (got: number, sent: number) =>
      `${got} / ${sent}（客户端的解码器从回显字节中重建）`,
    mismatches: '不一致',
    mismatchesNote: '与该位置发出的消息不同的回显',
    sticky: '粘包的读',
    stickyNote: '一次客户端读含有多条消息的字节：粘包',
    split: '拆包的读',
    splitNote: '一次客户端读在消息中间开始或结束：拆包',
    naive: '天真的读法',
    naiveValue: (reads: number, wrong: number) =>
      `把客户端每次读当作一条消息，得到 ${reads} 条，其中 ${wrong} 条是错的`,
    framed: '分帧',
    framedValue: '无论读被怎样合并或切开，解码器都重建了每条消息',
    elapsed: '耗时',
    firstMismatch: '第一处不一致',
    nagleOn: [
      'Nagle 算法处于开启状态（默认）：只有在已发出的数据都被确认时，小写入才会立即发出；',
      '之后的写入要等这个 ACK，再合成一个报文段一起发出。回环上 ACK 来得很快（连接刚建立时立即确认，',
      '或搭在回显上）；对端没有数据要发时可能推迟确认（延迟确认：Linux 上 40 ms 或更久），Nagle 也就要等这么久。',
      '关掉 Nagle 读也照样会合并：读得比写得慢的一方会在缓冲区里看到好几条消息。',
    ],
    nagleOff: [
      '--nodelay 关闭了 Nagle：每次写入立即作为单独的报文段发出。客户端读次数变少并不代表报文段变少：',
      'read() 运行时这些报文段已经都在缓冲区里等着，一次读就全部取走。粘包来自读的一方，不只是 Nagle。',
      '要数线路上的报文段：sudo tcpdump -i lo -n -w cap.pcap port 端口，再运行 gw explain cap.pcap。',
    ],
    labHead: (count: number, size: number) =>
      `粘包与拆包：${count} 条消息，每条 ${size} 字节，每条单独一次写入，经回环地址回显`,
    labCounted:
      '所有数字都在客户端统计：它的 write() 调用，以及读取回显的 read() 调用（服务端把自己的每次读作为一次写回显）。',
    labColumns: [
      '场景\n（客户端读缓冲）',
      '客户端\n写次数',
      '客户端\n读次数',
      '粘包\n的读',
      '拆包\n的读',
      '收回\n的回显',
      '天真读法\n出错',
    ],
    labFixesNote: (readBytes: number) =>
      `三种解决办法与拆包那一行使用同一个 ${readBytes} 字节的读缓冲，所以它们的读同样被切开：拆包来自小缓冲，不是来自解决办法，而每条消息仍然完整收回。`,
    labTooSmall: (size: number) =>
      `消息只有 ${size} 字节时，没有哪次读能把消息切开（一次读至少返回一个字节）：用 --size 2 或更大才能看到拆包。`,
    labScenario: (kind: LabScenarioKind, readBytes: number | undefined, size: number): string => {
      const r = reads('zh', readBytes);
      switch (kind) {
        case 'sticky':
          return `raw，${r}：多次写合并（粘包）`;
        case 'split':
          return size < 2
            ? `raw，${r}：消息太短，无法切开（拆包）`
            : `raw，${r}：读把消息切开（拆包）`;
        case 'length':
          return `解法 1：长度头，${r}`;
        case 'fixed':
          return `解法 2：定长，${r}`;
        case 'line':
          return `解法 3：分隔符，${r}`;
      }
    },
    naiveOf: (wrong: number, reads: number) => `${reads} 次读中 ${wrong} 次`,
    lessons: [
      'TCP 是字节流：它保证字节的顺序，但不保留各次写入之间的边界。',
      '发送方合并小写入（Nagle）或接收方读得不及时，一次读就会含有多次写入（粘包）；',
      '消息大于读缓冲、套接字缓冲或 MSS 时，读会把消息切开（拆包）。',
      '解决办法是把边界放回字节流里：',
      '  长度头   先读头部，再读恰好那么多字节；任何内容都可以；每条消息多付一个头部',
      '  定长     每次读恰好 N 字节；最简单；浪费填充字节，并限制消息长度',
      '  分隔符   读到分隔符（\\n）为止；可以用 nc 直接看；要扫描每个字节，且消息里不能出现分隔符',
    ],
    tryIt:
      '动手试试：gw tcp-echo server --framing raw，然后 gw tcp-echo client --framing raw --burst 50',
    naiveFramed: '不适用：已分帧',
    bytesOf: (got: number, sent: number) => `${got}/${sent} 字节`,
    messagesOf: (got: number, sent: number) => `${got}/${sent} 条消息`,
    bad: (n: number) => `（${n} 条错误）`,
  },
} as const;
