/**
 * The diagnoses in words, English or Chinese (`--lang zh`, with the terms of
 * the origin notes: 被动关闭方, 半连接队列, 全连接队列, 端口耗尽): what was seen,
 * what the state means, and what to check. Pure.
 */
import type {
  AcceptQueueFinding,
  CloseWaitFinding,
  Finding,
  SynRecvFinding,
  TimeWaitFinding,
} from './diagnose.js';
import { plural } from '../shared/format.js';
import { otherStateName, TIME_WAIT_SPAN } from '../shared/tcp-terms.js';
import type { Ranked } from './summary.js';

export type Lang = 'en' | 'zh';

export interface FindingText {
  title: string;
  /** What gw saw, with the numbers. */
  evidence: string[];
  /** What the state means (the lesson). */
  meaning: string;
  /** What to check or change. */
  checks: string[];
}

function ranked(list: readonly Ranked[]): string {
  return list.map((r) => `${r.key} ×${r.count}`).join(', ');
}

function seconds(ms: number): string {
  return ms < 10_000 ? (ms / 1000).toFixed(1) : String(Math.round(ms / 1000));
}

function ownerLabel(o: CloseWaitFinding['owner'], lang: Lang): string {
  const user = o.user === undefined ? `uid ${o.uid}` : `${o.user} (uid ${o.uid})`;
  if (o.pid !== undefined) return `${o.process ?? '?'} (pid ${o.pid})`;
  if (o.local !== undefined) {
    return lang === 'zh' ? `${o.local} 上的服务（${user}）` : `the service on ${o.local} (${user})`;
  }
  return user;
}

function closeWait(f: CloseWaitFinding, lang: Lang): FindingText {
  const owner = ownerLabel(f.owner, lang);
  const pidFlag = f.owner.pid === undefined ? '' : ` --pid ${f.owner.pid}`;
  const unknown = f.owner.pid === undefined;
  if (lang === 'zh') {
    return {
      title: `CLOSE_WAIT 堆积在 ${owner}：${f.count} 个套接字`,
      evidence: [
        `${owner} 持有 ${f.count} 个处于 CLOSE_WAIT 的套接字；对端：${ranked(f.topRemote)}`,
        ...(f.eofUnread > 0
          ? [
              `其中 ${f.eofUnread} 个连流结束都还没读到（Recv-Q 为 1：对端的 FIN 占一个序号，直到 read() 返回 0）：应用根本没有在读这些连接`,
            ]
          : []),
        ...(f.withUnreadData > 0
          ? [`其中 ${f.withUnreadData} 个仍有未读数据（Recv-Q > 1）：应用连数据都没有读完`]
          : []),
        ...(unknown
          ? ['不知道属于哪个进程：运行 gw conns -p（以 root 运行才能看到所有进程）']
          : []),
      ],
      meaning:
        'CLOSE_WAIT 是被动关闭方的状态：对端发来了 FIN（关闭了它那一侧），本机内核已回 ACK，正在等应用调用 close()；内核不会让它超时。',
      checks: [
        "找出应用读到流结束（read() 返回 0、'end'/'close' 事件、EOF）后没有关闭套接字的代码路径：错误分支、缺少 finally/defer、连接池里的连接没有归还",
        `持续观察：gw conns --watch --state close_wait${pidFlag}；数量只增不减就是泄漏，最终会报 "too many open files"（对比 ls /proc/PID/fd | wc -l 与 ulimit -n）`,
        '或者应用过载（并发请求太多），还没来得及处理这些连接：检查它的工作线程池或事件循环',
      ],
    };
  }
  return {
    title: `CLOSE_WAIT piling up in ${owner}: ${f.count} sockets`,
    evidence: [
      `${owner} holds ${f.count} sockets in CLOSE_WAIT; peers: ${ranked(f.topRemote)}`,
      ...(f.eofUnread > 0
        ? [
            `${f.eofUnread} of them have not even read the end of stream (Recv-Q 1: the peer's FIN takes one sequence number until read() returns 0): the application is not reading them at all`,
          ]
        : []),
      ...(f.withUnreadData > 0
        ? [
            `${f.withUnreadData} of them still hold unread data (Recv-Q > 1): the application has stopped reading them`,
          ]
        : []),
      ...(unknown
        ? ['the owning process is not known: run gw conns -p (as root to see every process)']
        : []),
    ],
    meaning:
      'CLOSE_WAIT is the passive closer waiting for its application: the peer sent FIN (closed its side), this kernel ACKed it, and nothing happens until the application calls close(). The kernel never times it out.',
    checks: [
      "find where the application sees end-of-stream (read() returning 0, an 'end' or 'close' event, EOF) and does not close the socket: error paths, a missing finally/defer, pooled connections never released",
      `watch it: gw conns --watch --state close_wait${pidFlag}; a count that only grows is a leak that ends in "too many open files" (ls /proc/PID/fd | wc -l against ulimit -n)`,
      'or the application is overloaded (too many concurrent requests) and has not got round to these connections: check its worker pool or event loop',
    ],
  };
}

const TW_REUSE: Readonly<Record<Lang, readonly string[]>> = {
  en: ['off', 'on', 'loopback only'],
  zh: ['关闭', '开启', '仅回环地址'],
};

function timeWait(f: TimeWaitFinding, lang: Lang): FindingText {
  const pct = Math.round((f.count / f.rangeSize) * 100);
  const { low, high } = f.portRange;
  const reuse =
    f.tcpTwReuse === undefined ? '?' : `${f.tcpTwReuse} (${TW_REUSE[lang][f.tcpTwReuse] ?? '?'})`;
  if (lang === 'zh') {
    const towards = f.destination ?? '所有目的地址';
    return {
      title: `TIME_WAIT 占用了通往 ${towards} 的 ${pct}% 临时端口（${f.count}/${f.rangeSize}）`,
      evidence: [
        `从 ${f.local} 到 ${towards} 的 ${f.count} 个 TIME_WAIT 套接字占用了 ip_local_port_range ${low}–${high} 中 ${f.rangeSize} 个本地端口里的 ${f.count} 个（${pct}%）`,
        `客户端端口上共有 ${f.totalTimeWait} 个 TIME_WAIT`,
      ],
      meaning: `先关闭的一方要在 TIME_WAIT 停留一段时间（${TIME_WAIT_SPAN.zh}），以便最后一个 ACK 丢失时可以重发，并让这条连接残留的报文在端口对被重用前消失；在此期间它一直占着通往该目的地址的本地端口。端口用尽时 connect() 失败，报 EADDRNOTAVAIL（"Cannot assign requested address"），即端口耗尽。`,
      checks: [
        '复用连接，不要每个请求新建一个连接：HTTP keep-alive、连接池',
        `net.ipv4.tcp_tw_reuse = ${reuse}：设为 1 时，在 TCP 时间戳能保证安全的前提下，connect() 可以复用处于 TIME_WAIT 的端口`,
        `扩大 net.ipv4.ip_local_port_range（当前 ${low} ${high}），或把连接分散到更多目的地址或端口`,
        '不要用 SO_LINGER 0 跳过 TIME_WAIT：那会直接以 RST 结束连接，可能丢失在途数据',
      ],
    };
  }
  const towards = f.destination ?? 'all destinations';
  return {
    title: `TIME_WAIT holds ${pct}% of the ephemeral ports towards ${towards} (${f.count} of ${f.rangeSize})`,
    evidence: [
      `${f.count} TIME_WAIT sockets from ${f.local} to ${towards} hold ${f.count} of the ${f.rangeSize} local ports in ip_local_port_range ${low}–${high} (${pct}%)`,
      `${f.totalTimeWait} TIME_WAIT sockets on client ports in all`,
    ],
    meaning: `The side that closes first stays in TIME_WAIT for a while (${TIME_WAIT_SPAN.en}) so that its last ACK can be resent if lost and stray segments of the connection die out before the port pair is reused; all that time its local port stays taken for that destination. When none is left, connect() fails with EADDRNOTAVAIL ("Cannot assign requested address"): port exhaustion.`,
    checks: [
      'reuse connections instead of opening one per request: HTTP keep-alive, a connection pool',
      `net.ipv4.tcp_tw_reuse = ${reuse}: 1 lets connect() take a TIME_WAIT port when TCP timestamps make it safe`,
      `widen net.ipv4.ip_local_port_range (now ${low} ${high}), or spread connections over more destination addresses or ports`,
      'do not cut TIME_WAIT short with SO_LINGER 0: that ends the connection with a reset and can lose data in flight',
    ],
  };
}

function kernelNumbers(f: SynRecvFinding): string {
  const parts = [
    f.tcpSyncookies === undefined ? undefined : `net.ipv4.tcp_syncookies = ${f.tcpSyncookies}`,
    f.tcpMaxSynBacklog === undefined ? undefined : `tcp_max_syn_backlog = ${f.tcpMaxSynBacklog}`,
    f.synCookiesSent === undefined ? undefined : `SyncookiesSent ${f.synCookiesSent}`,
    f.reqQueueFullDrops === undefined ? undefined : `TCPReqQFullDrop ${f.reqQueueFullDrops}`,
  ];
  return parts.filter((p) => p !== undefined).join('; ');
}

/** The RFC's name, given once where the lesson first names the kernel's `SYN_RECV`. */
const SYN_RECV_RFC = otherStateName('SYN_RECV', 'kernel') ?? '';

function synRecv(f: SynRecvFinding, lang: Lang): FindingText {
  const port = f.listener.slice(f.listener.lastIndexOf(':') + 1);
  const tcpdump = `tcpdump -n 'tcp port ${port} and tcp[tcpflags] & (tcp-syn|tcp-ack) != 0'`;
  const numbers = kernelNumbers(f);
  if (lang === 'zh') {
    return {
      title: `SYN_RECV 堆积在 ${f.listener}：${f.count} 个半连接`,
      evidence: [
        `${f.listener} 上有 ${f.count} 个连接已回复 SYN+ACK，正在等客户端的 ACK（三次握手的第三步）；来自 ${f.distinctSources} 个地址：${ranked(f.topRemote)}`,
        ...(f.retried > 0 ? [`其中 ${f.retried} 个的 SYN+ACK 已经重传：客户端没有回应`] : []),
        ...(numbers === '' ? [] : [numbers]),
      ],
      meaning: `SYN_RECV（${SYN_RECV_RFC}）是服务端收到 SYN、回了 SYN+ACK、还没收到最后 ACK 时的状态。这些连接待在半连接队列（SYN 队列）里，直到 ACK 到达，或 SYN+ACK 的重试（net.ipv4.tcp_synack_retries）用完。`,
      checks: [
        '大量不同源地址且从不回应：SYN 洪泛攻击（伪造源地址）——保持 net.ipv4.tcp_syncookies = 1，并在上游限制 SYN 速率',
        `少数源地址、平时能正常连接：它们的 ACK 在路上丢了——用 ${tcpdump} 检查防火墙和路由`,
        '正常的突发流量：调大 net.ipv4.tcp_max_syn_backlog 和 listen() 的 backlog',
      ],
    };
  }
  return {
    title: `SYN_RECV piling up on ${f.listener}: ${f.count} half-open connections`,
    evidence: [
      `${f.count} connections on ${f.listener} were answered with SYN+ACK and wait for the client's ACK (step 3 of the handshake); from ${plural(f.distinctSources, 'address', 'addresses')}: ${ranked(f.topRemote)}`,
      ...(f.retried > 0
        ? [`${f.retried} of them had their SYN+ACK retransmitted: those clients are not answering`]
        : []),
      ...(numbers === '' ? [] : [numbers]),
    ],
    meaning: `SYN_RECV (${SYN_RECV_RFC}) is the server between the client's SYN and its final ACK. These connections sit in the SYN queue (the half-open queue) until the ACK arrives or the SYN+ACK retries (net.ipv4.tcp_synack_retries) run out.`,
    checks: [
      'many source addresses that never answer: a SYN flood (spoofed sources); keep net.ipv4.tcp_syncookies = 1 and rate-limit SYNs upstream',
      `few sources that otherwise connect fine: their ACKs are lost on the way in; check firewalls and routing with ${tcpdump}`,
      'legitimate bursts: raise net.ipv4.tcp_max_syn_backlog and the listen() backlog',
    ],
  };
}

function overflowLine(f: AcceptQueueFinding, lang: Lang): string | undefined {
  if (f.listenOverflows === undefined) return undefined;
  const counts = `TcpExt ListenOverflows ${f.listenOverflows}, ListenDrops ${f.listenDrops ?? '?'}`;
  const rise = Math.max(f.overflowsRise ?? 0, f.dropsRise ?? 0);
  const since = seconds(f.sinceMs ?? 0);
  if (lang === 'zh') {
    return rise > 0
      ? `/proc/net/netstat 中 ${counts}，最近 ${since} 秒内增加了 ${rise}：握手正在被丢弃`
      : `/proc/net/netstat 中 ${counts}（开机以来的累计值；用 gw conns --watch 观察是否还在增长）`;
  }
  return rise > 0
    ? `${counts} in /proc/net/netstat, up ${rise} in the last ${since} s: handshakes are being dropped now`
    : `${counts} in /proc/net/netstat (counted since boot; gw conns --watch shows whether they still rise)`;
}

function acceptQueue(f: AcceptQueueFinding, lang: Lang): FindingText {
  const overflow = overflowLine(f, lang);
  const cap =
    f.somaxconn === undefined ? 'net.core.somaxconn' : `net.core.somaxconn = ${f.somaxconn}`;
  if (lang === 'zh') {
    return {
      title: `${f.listener} 的全连接队列已满：${f.queued} 个连接在等待 accept()`,
      evidence: [
        `监听套接字的 Recv-Q 为 ${f.queued}：这些连接已完成三次握手，但${f.owner ?? '应用'}还没有 accept()`,
        ...(overflow === undefined ? [] : [overflow]),
        `队列上限是传给 listen() 的 backlog，且不超过 ${cap}；ss -ltn 的 Send-Q 列显示监听套接字的 backlog`,
      ],
      meaning:
        '全连接队列（accept 队列）满了以后，内核会丢弃客户端握手的最后一个 ACK 或新的 SYN：客户端看到连接缓慢或超时，服务端却看起来很空闲。',
      checks: [
        '应用在调用 accept() 吗？事件循环被阻塞、工作线程或进程太少，都会让 accept() 停下来',
        `调大传给 listen() 的 backlog（Node：server.listen({ backlog })，nginx：listen ... backlog=N），同时调大 net.core.somaxconn`,
        'net.ipv4.tcp_abort_on_overflow = 1 会让溢出以 RST 的形式被客户端看到（默认关闭）',
      ],
    };
  }
  return {
    title: `accept queue of ${f.listener} is full: ${f.queued} connections wait for accept()`,
    evidence: [
      `the listener's Recv-Q is ${f.queued}: connections whose handshake is complete but that ${f.owner ?? 'the application'} has not accept()ed`,
      ...(overflow === undefined ? [] : [overflow]),
      `the queue holds at most the backlog given to listen(), capped by ${cap}; ss -ltn shows a listener's backlog as its Send-Q`,
    ],
    meaning:
      "When the accept queue is full the kernel drops the client's final ACK or new SYNs: clients see slow or timed-out connects while the server looks idle.",
    checks: [
      'is the application calling accept()? a blocked event loop or too few worker threads or processes stops it',
      'raise the backlog given to listen() (Node: server.listen({ backlog }), nginx: listen ... backlog=N) together with net.core.somaxconn',
      'net.ipv4.tcp_abort_on_overflow = 1 makes overflows visible to clients as resets (off by default)',
    ],
  };
}

/** A finding in words, in `lang`. */
export function explainFinding(f: Finding, lang: Lang): FindingText {
  switch (f.code) {
    case 'close-wait-pileup':
      return closeWait(f, lang);
    case 'time-wait-exhaustion':
      return timeWait(f, lang);
    case 'syn-recv-pileup':
      return synRecv(f, lang);
    case 'accept-queue-full':
      return acceptQueue(f, lang);
  }
}
