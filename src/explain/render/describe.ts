import type { AnalyzedPacket, Connection } from '../analyze/analyzer.js';
import type { AnalysisEvent } from '../analyze/seq-analysis.js';
import { FLAG, type Endpoint, type TcpPacket } from '../types.js';
import { formatHostPort } from '../../shared/format.js';
import { applicationSentence } from './app-note.js';
import {
  repeatedFinSentence,
  resetSentence,
  ROLE,
  simultaneousSentence,
  teardownSentence,
} from './closing-text.js';

/** Languages of the explanations. */
export type Lang = 'en' | 'zh';

/** tcpdump's flag letters: `S`, `S.`, `P.`, `F.`, `R.`, `.` (RFC 9293 §3.1 flags). */
export function flagLetters(flags: number): string {
  let out = '';
  if (flags & FLAG.SYN) out += 'S';
  if (flags & FLAG.FIN) out += 'F';
  if (flags & FLAG.PSH) out += 'P';
  if (flags & FLAG.RST) out += 'R';
  if (flags & FLAG.URG) out += 'U';
  if (flags & FLAG.ECE) out += 'E';
  if (flags & FLAG.CWR) out += 'W';
  if (flags & FLAG.ACK) out += '.';
  return out === '' ? 'none' : out;
}

export function endpoint(e: Endpoint): string {
  return formatHostPort(e.address, e.port);
}

/** A tcpdump-style line: `127.0.0.1.40000 > 127.0.0.1.80: Flags [P.], seq 1:80, ack 1, win 512, length 79`. */
export function tcpdumpLine(a: AnalyzedPacket, firstTime: number | undefined): string {
  const p = a.packet;
  // Without capture times (tcpdump -t) the time since the first packet is unknown: `-`.
  const t = firstTime === undefined ? '-' : (p.time - firstTime).toFixed(6);
  const { flags } = p;
  let seq = '';
  if (p.len > 0 || flags & (FLAG.SYN | FLAG.FIN)) {
    const end = (a.relSeq + p.len) >>> 0;
    seq = p.len > 0 ? `, seq ${a.relSeq}:${end}` : `, seq ${a.relSeq}`;
    if (flags & FLAG.SYN) seq = `, seq ${p.seq}`;
  }
  const ack = flags & FLAG.ACK ? `, ack ${flags & FLAG.SYN ? p.ack : a.relAck}` : '';
  // SACK edges are shown relative, as tcpdump does, to the same base as the ack.
  const opts = optionText(p, (p.ack - a.relAck) >>> 0);
  const src = `${p.src.address}.${p.src.port}`;
  const dst = `${p.dst.address}.${p.dst.port}`;
  return `${t} ${p.ipVersion === 6 ? 'IP6' : 'IP'} ${src} > ${dst}: Flags [${flagLetters(flags)}]${seq}${ack}, win ${p.win}${opts}, length ${p.len}`;
}

function optionText(p: TcpPacket, sackBase: number): string {
  const o = p.options;
  const parts: string[] = [];
  if (o.mss !== undefined) parts.push(`mss ${o.mss}`);
  if (o.sackPermitted === true) parts.push('sackOK');
  if (o.tsVal !== undefined) parts.push(`TS val ${o.tsVal} ecr ${o.tsEcr ?? 0}`);
  if (o.wscale !== undefined) parts.push(`wscale ${o.wscale}`);
  if (o.sack !== undefined) {
    const rel = (n: number): number => (n - sackBase) >>> 0;
    parts.push(`sack ${o.sack.length} ${o.sack.map(([l, r]) => `{${rel(l)}:${rel(r)}}`).join('')}`);
  }
  return parts.length === 0 ? '' : `, options [${parts.join(',')}]`;
}

/**
 * The teacher's explanation of one packet, in English or Chinese: what this
 * step of the protocol does, what the numbers mean, and what went wrong.
 */
export function describePacket(a: AnalyzedPacket, lang: Lang): string {
  const parts = [mainSentence(a, lang), ...eventSentences(a, lang)];
  const app = applicationSentence(a.packet, lang);
  if (app !== undefined) parts.push(app);
  return parts.filter((s) => s !== '').join(' ');
}

function mainSentence(a: AnalyzedPacket, lang: Lang): string {
  const p = a.packet;
  const who = ROLE[lang][a.from];
  const peer = ROLE[lang][a.from === 'client' ? 'server' : 'client'];
  const zh = lang === 'zh';
  if (a.phase === 'reset') return resetSentence(a, lang);
  if (a.phase === 'handshake') return handshakeSentence(a, lang);
  if (a.repeatsFinOf !== undefined) return repeatedFinSentence(a, lang);
  if (a.phase === 'teardown' && a.step > 0)
    return a.simultaneousClose === true ? simultaneousSentence(a, lang) : teardownSentence(a, lang);
  const data = p.len > 0;
  const end = (a.relSeq + p.len) >>> 0;
  if (data) {
    const push =
      p.flags & FLAG.PSH
        ? zh
          ? '（PSH：请立即交给应用）'
          : ' PSH asks the receiver to hand it to the application now.'
        : '';
    return zh
      ? `${who}发送 ${p.len} 字节数据（seq ${a.relSeq}:${end}，下一个字节是 ${end}），并确认已收到对方 ${a.relAck} 之前的所有字节；${windowText(a, lang)}。${push}`
      : `The ${who} sends ${p.len} bytes (seq ${a.relSeq}:${end}; its next byte will be ${end}) and acknowledges everything the ${peer} sent before byte ${a.relAck}; ${windowText(a, lang)}.${push}`;
  }
  if (p.flags & FLAG.ACK) {
    const free =
      a.windowScale === undefined
        ? zh
          ? `${windowText(a, lang)}，无法算出剩余缓冲区的字节数`
          : `${windowText(a, lang)}, so how many bytes of its buffer are free cannot be told`
        : zh
          ? `接收窗口还剩 ${a.window} 字节`
          : `${a.window} bytes of its receive buffer are free (win)`;
    return zh
      ? `${who}确认：已按序收到对方 ${a.relAck} 之前的全部字节，下一个期望 ${a.relAck}；${free}。`
      : `The ${who} acknowledges: it has every byte before ${a.relAck} and expects byte ${a.relAck} next; ${free}.`;
  }
  return zh ? `${who}发送一个不带 ACK 的段。` : `The ${who} sends a segment without ACK.`;
}

/**
 * The advertised window. Its scale (RFC 7323 §2) is agreed in the SYNs: when
 * they were not captured the field cannot be turned into bytes (Wireshark
 * shows the scale factor as -1, unknown, too).
 */
function windowText(a: AnalyzedPacket, lang: Lang): string {
  if (a.windowScale !== undefined)
    return lang === 'zh' ? `窗口 ${a.window} 字节` : `window ${a.window} bytes`;
  return lang === 'zh'
    ? `窗口 ${a.packet.win}（扩大因子未知：没有抓到握手）`
    : `window ${a.packet.win} (scale unknown: the handshake was not captured)`;
}

function handshakeSentence(a: AnalyzedPacket, lang: Lang): string {
  const p = a.packet;
  const zh = lang === 'zh';
  const offers = optionSentence(p, lang);
  if (a.step === 1) {
    return zh
      ? `【三次握手 1/3】客户端 ${endpoint(p.src)} 向服务端 ${endpoint(p.dst)} 发起连接：SYN 携带自己的初始序号 ISN=${p.seq}。${offers}`
      : `[3-way handshake 1/3] The client ${endpoint(p.src)} opens a connection to ${endpoint(p.dst)}: a SYN carrying its initial sequence number (ISN) ${p.seq}.${offers}`;
  }
  if (a.step === 2) {
    const listening = a.stateChanges.some((c) => c.to === 'LISTEN');
    const heard = listening
      ? zh
        ? `（说明 ${endpoint(p.src)} 上有程序在监听：服务端处于 LISTEN）`
        : ` (so something listens on ${endpoint(p.src)}: the server was in LISTEN)`
      : '';
    return zh
      ? `【三次握手 2/3】服务端回复 SYN+ACK${heard}：自己的 ISN=${p.seq}，ack=${p.ack}（客户端 ISN+1），表示收到了客户端的 SYN。${offers}`
      : `[3-way handshake 2/3] The server answers SYN+ACK${heard}: its own ISN ${p.seq}, and ack ${p.ack} (the client's ISN + 1) confirms it received the SYN.${offers}`;
  }
  // No RTT without timestamps (tcpdump -t): every time is 0 there.
  const ms = (a.conn.irtt * 1000).toFixed(3);
  const rtt = a.conn.irtt > 0 ? (zh ? `握手往返时间 ${ms} ms。` : ` Handshake RTT ${ms} ms.`) : '';
  return zh
    ? `【三次握手 3/3】客户端确认服务端的 SYN（ack 1）：双方都确认了两个方向都通，连接进入 ESTABLISHED。${rtt}`
    : `[3-way handshake 3/3] The client acknowledges the server's SYN (ack 1): both directions are now confirmed, and the connection is ESTABLISHED on both sides.${rtt}`;
}

function optionSentence(p: TcpPacket, lang: Lang): string {
  const o = p.options;
  const zh = lang === 'zh';
  const bits: string[] = [];
  if (o.mss !== undefined)
    bits.push(
      zh
        ? `MSS ${o.mss}（每段最多 ${o.mss} 字节数据）`
        : `MSS ${o.mss} (at most ${o.mss} data bytes per segment)`,
    );
  if (o.sackPermitted === true)
    bits.push(zh ? '支持 SACK（选择性确认）' : 'SACK (selective acknowledgement)');
  if (o.wscale !== undefined)
    bits.push(
      zh
        ? `窗口扩大因子 ${o.wscale}（窗口 ×${2 ** o.wscale}）`
        : `window scale ${o.wscale} (windows ×${2 ** o.wscale})`,
    );
  if (o.tsVal !== undefined) bits.push(zh ? '时间戳' : 'timestamps');
  if (bits.length === 0) return '';
  return zh ? ` 它提出：${bits.join('，')}。` : ` It offers ${bits.join(', ')}.`;
}

const EVENT_TEXT: Record<AnalysisEvent, { en: string; zh: string }> = {
  retransmission: {
    en: 'Retransmission: this data was sent before and was not acknowledged in time, so the sender sends it again after its retransmission timeout. Congestion control reads a timeout as a busy network: the sender shrinks its congestion window to one segment and starts slow start again, so that it does not make the congestion worse.',
    zh: '重传：这段数据之前发过，但没有及时收到确认，发送方超时后重新发送。拥塞控制把超时看作网络拥塞：发送方把拥塞窗口降到一个段，重新开始慢启动，以免加重拥塞。',
  },
  'fast-retransmission': {
    en: 'Fast retransmission: the receiver sent duplicate ACKs for this byte, so the sender resends it at once without waiting for the timeout (fast retransmit). It then enters fast recovery: it halves its congestion window and continues in congestion avoidance instead of restarting slow start.',
    zh: '快速重传：接收方对这个字节发出了重复确认，发送方不等超时立即重发（快速重传），随后进入快速恢复：拥塞窗口减半，进入拥塞避免，而不是重新慢启动。',
  },
  'spurious-retransmission': {
    en: 'Spurious retransmission: the receiver had already acknowledged all of this data; the resend was unnecessary.',
    zh: '虚假重传：这些数据对方早已确认过，这次重发是不必要的。',
  },
  'out-of-order': {
    en: 'Out of order: this segment arrived after a later one (the network reordered them).',
    zh: '乱序：这个段比后面的段更晚到达（网络打乱了顺序）。',
  },
  'previous-segment-not-captured': {
    en: 'Previous segment not captured: there is a gap before this segment (lost on the way, or missed by the capture).',
    zh: '前一个段未捕获：这个段之前有一段数据缺失（途中丢失或抓包没抓到）。',
  },
  'ack-unseen-segment': {
    en: 'ACKed unseen segment: this acknowledges data the capture never saw.',
    zh: '确认了未看到的段：确认的数据没有出现在抓包里。',
  },
  'dup-ack': {
    en: 'Duplicate ACK: the receiver repeats its last acknowledgement because a later segment arrived while an earlier one is missing.',
    zh: '重复确认：接收方收到了后面的段但前面的段缺失，于是重复上一次的确认号。',
  },
  'zero-window': {
    en: 'Zero window: the receiver’s buffer is full (win 0); the sender must stop and probe until it opens (flow control).',
    zh: '零窗口：接收方缓冲区已满（win 0），发送方必须停止发送并探测（流量控制）。',
  },
  'zero-window-probe': {
    en: 'Zero-window probe: one byte sent into a closed window to ask whether it has opened.',
    zh: '零窗口探测：向关闭的窗口发送 1 个字节，询问窗口是否已经打开。',
  },
  'zero-window-probe-ack': {
    en: 'Zero-window probe ACK: the window is still closed.',
    zh: '零窗口探测的确认：窗口仍然是 0。',
  },
  'window-full': {
    en: 'Window full: this segment fills the receiver’s advertised window exactly; the sender must wait for an ACK before sending more.',
    zh: '窗口已满：这个段恰好用完对方通告的窗口，发送方必须等确认后才能继续发送。',
  },
  'window-update': {
    en: 'Window update: nothing new is acknowledged, but the receiver’s window changed (it read from its buffer).',
    zh: '窗口更新：没有确认新数据，但接收方的窗口变了（应用读走了数据）。',
  },
  'keep-alive': {
    en: 'Keep-alive: a probe one byte behind the next sequence number, asking whether the idle peer is still there.',
    zh: '保活探测：序号比期望值少 1 的探测段，询问空闲的对端是否还在。',
  },
  'keep-alive-ack': {
    en: 'Keep-alive ACK: the peer is still there.',
    zh: '保活确认：对端仍然在线。',
  },
};

function eventSentences(a: AnalyzedPacket, lang: Lang): string[] {
  const sentences = a.events.map((e) => {
    const text = EVENT_TEXT[e][lang];
    if (e === 'dup-ack' && a.dupAckNum !== undefined) {
      return lang === 'zh'
        ? `${text}（第 ${a.dupAckNum} 次，重复帧 ${a.dupAckOf ?? 0} 的确认）`
        : `${text} (#${a.dupAckNum}, repeating frame ${a.dupAckOf ?? 0})`;
    }
    return text;
  });
  const sack = sackSentence(a, lang);
  if (sack !== '') sentences.push(sack);
  return sentences;
}

/**
 * SACK blocks (RFC 2018): ranges received beyond a gap; a block below the
 * ACK number is a D-SACK (RFC 2883), reporting data that arrived twice.
 */
function sackSentence(a: AnalyzedPacket, lang: Lang): string {
  const blocks = a.packet.options.sack;
  if (blocks === undefined || blocks.length === 0) return '';
  const base = a.packet.ack - a.relAck;
  const ranges = blocks.map(([l, r]) => `${(l - base) >>> 0}–${(r - base) >>> 0}`).join(', ');
  const duplicate = blocks.some(([, r]) => ((r - a.packet.ack) | 0) <= 0);
  if (lang === 'zh') {
    return duplicate
      ? `SACK（D-SACK）：报告字节 ${ranges} 收到了两次——这些数据早已收到，对方的重传是多余的。`
      : `SACK（选择性确认）：除了确认号之前的数据，还收到了字节 ${ranges}；中间的空洞需要重传。`;
  }
  return duplicate
    ? `SACK (D-SACK): bytes ${ranges} arrived twice; it already had them, so the resend was unnecessary.`
    : `SACK (selective acknowledgement): besides everything before the ACK number it also holds bytes ${ranges}; only the gap needs resending.`;
}

/** The header printed when a connection first appears. */
export function connectionHeader(conn: Connection, lang: Lang): string {
  const guess = conn.rolesGuessed
    ? lang === 'zh'
      ? '（抓包从中途开始，角色是推测的）'
      : ' (the capture starts mid-stream: roles guessed)'
    : '';
  return lang === 'zh'
    ? `── 连接 #${conn.id}：客户端 ${endpoint(conn.client)} → 服务端 ${endpoint(conn.server)}${guess}`
    : `── connection #${conn.id}: client ${endpoint(conn.client)} → server ${endpoint(conn.server)}${guess}`;
}
