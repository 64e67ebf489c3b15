import type { AnalyzedPacket } from '../analyze/analyzer.js';
import { TIME_WAIT_SPAN } from '../../shared/tcp-terms.js';
import { formatHostPort } from '../../shared/format.js';
import type { Lang } from './describe.js';

/**
 * The explanations of how a connection ends: the four-way teardown, a
 * simultaneous close (RFC 9293 §3.6), a repeated FIN, and resets. Each one
 * names exactly the states its packet's state lines show.
 */

export interface Words {
  client: string;
  server: string;
}

export const ROLE: Record<Lang, Words> = {
  en: { client: 'client', server: 'server' },
  zh: { client: '客户端', server: '服务端' },
};

export function teardownSentence(a: AnalyzedPacket, lang: Lang): string {
  const who = ROLE[lang][a.from];
  const zh = lang === 'zh';
  switch (a.step) {
    case 1:
      return zh
        ? `【四次挥手 1/4】${who}主动关闭：发送 FIN，表示自己不再发送数据（进入 FIN_WAIT_1）。`
        : `[4-way teardown 1/4] The ${who} closes first: its FIN says it will send no more data (it enters FIN_WAIT_1).`;
    case 2:
      return zh
        ? `【四次挥手 2/4】${who}确认对方的 FIN；它进入 CLOSE_WAIT，直到自己的应用也关闭连接（还可以继续发送数据）。${peerMoves(a, 'FIN_WAIT_2', lang)}`
        : `[4-way teardown 2/4] The ${who} acknowledges that FIN. It is now in CLOSE_WAIT until its own application closes (it may still send data).${peerMoves(a, 'FIN_WAIT_2', lang)}`;
    case 3: {
      // The same segment acknowledges the peer's FIN: the sender passes through CLOSE_WAIT.
      const both = a.stateChanges.some((c) => c.who === a.from && c.to === 'CLOSE_WAIT');
      return zh
        ? `【四次挥手 3/4】${who}也发送 FIN，关闭自己的方向${both ? '（同一个段里也确认了对方的 FIN，因此经过 CLOSE_WAIT）' : ''}，进入 LAST_ACK。${peerMoves(a, 'FIN_WAIT_2', lang)}`
        : `[4-way teardown 3/4] The ${who} sends its own FIN, closing its direction too${both ? ' (the same segment also acknowledges the peer’s FIN, so it passes through CLOSE_WAIT)' : ''}; it waits in LAST_ACK.${peerMoves(a, 'FIN_WAIT_2', lang)}`;
    }
    default:
      return zh
        ? `【四次挥手 4/4】${who}确认最后一个 FIN，进入 TIME_WAIT（${TIME_WAIT_SPAN.zh}），确保最后这个 ACK 丢失时还能重发，并让旧连接的残留报文消失。${peerMoves(a, 'CLOSED', lang)}`
        : `[4-way teardown 4/4] The ${who} acknowledges the last FIN and enters TIME_WAIT (${TIME_WAIT_SPAN.en}), so this ACK can be resent if lost and stray segments of this connection die out before the port pair is reused.${peerMoves(a, 'CLOSED', lang)}`;
  }
}

/** The peer's move when this segment's ACK reaches it, when the state lines show one. */
function peerMoves(a: AnalyzedPacket, to: 'FIN_WAIT_2' | 'CLOSED', lang: Lang): string {
  const peerRole = a.from === 'client' ? 'server' : 'client';
  if (!a.stateChanges.some((c) => c.who === peerRole && c.to === to)) return '';
  const peer = ROLE[lang][peerRole];
  if (to === 'CLOSED') {
    return lang === 'zh'
      ? `${peer}的 FIN 得到确认，进入 CLOSED。`
      : ` The ${peer}, its FIN acknowledged, is CLOSED.`;
  }
  return lang === 'zh'
    ? `${peer}的 FIN 得到确认，进入 FIN_WAIT_2，等待对方的 FIN。`
    : ` The ${peer}, its FIN acknowledged, waits in FIN_WAIT_2 for the other FIN.`;
}

/**
 * Simultaneous close (RFC 9293 §3.6 case 3): the FINs cross, each side
 * receives the other's FIN in FIN_WAIT_1 and goes to CLOSING, and each
 * ACK of a FIN then moves its receiver to TIME_WAIT: both end in TIME_WAIT.
 */
export function simultaneousSentence(a: AnalyzedPacket, lang: Lang): string {
  const zh = lang === 'zh';
  const who = ROLE[lang][a.from];
  const peer = ROLE[lang][a.from === 'client' ? 'server' : 'client'];
  if (a.step <= 2) {
    return zh
      ? `【同时关闭 2/4】${who}在${peer}的 FIN 到达之前也发送了 FIN（它的 ack ${a.relAck} 没有覆盖那个 FIN）：双方同时关闭（simultaneous close，RFC 9293 §3.6）。${who}也进入 FIN_WAIT_1，两个 FIN 在网络中交错而过。`
      : `[simultaneous close 2/4] The ${who} sends its own FIN before the ${peer}'s FIN has reached it (its ack ${a.relAck} does not cover that FIN): both sides close at once, a simultaneous close (RFC 9293 §3.6). The ${who} enters FIN_WAIT_1 too; the two FINs cross in the network.`;
  }
  if (a.step === 3) {
    return zh
      ? `【同时关闭 3/4】${who}确认${peer}的 FIN。它收到那个 FIN 时自己的 FIN 还没被确认，所以处于 CLOSING，等待自己 FIN 的确认。这个 ACK 到达${peer}时，${who}先前发出的 FIN 也已到达${peer}：${peer}经过 CLOSING，进入 TIME_WAIT。`
      : `[simultaneous close 3/4] The ${who} acknowledges the ${peer}'s FIN. It received that FIN while its own was still unacknowledged, so it is in CLOSING, waiting for the ACK of its own FIN. By the time this ACK reaches the ${peer}, the ${who}'s earlier FIN has reached it too: the ${peer} passes through CLOSING and enters TIME_WAIT.`;
  }
  return zh
    ? `【同时关闭 4/4】${who}确认${peer}的 FIN：${peer}离开 CLOSING，进入 TIME_WAIT。同时关闭时双方都进入 TIME_WAIT。`
    : `[simultaneous close 4/4] The ${who} acknowledges the ${peer}'s FIN: the ${peer} leaves CLOSING for TIME_WAIT. In a simultaneous close both sides end in TIME_WAIT.`;
}

/** A FIN its sender already sent: a retransmission, which changes no state by its FIN. */
export function repeatedFinSentence(a: AnalyzedPacket, lang: Lang): string {
  const zh = lang === 'zh';
  const who = ROLE[lang][a.from];
  const n = a.repeatsFinOf ?? 0;
  const p = a.packet;
  const end = (a.relSeq + p.len) >>> 0;
  const data =
    p.len > 0
      ? zh
        ? `（连同 ${p.len} 字节数据，seq ${a.relSeq}:${end}）`
        : ` (with its ${p.len} bytes of data, seq ${a.relSeq}:${end})`
      : '';
  const ackOnly = a.stateChanges.length > 0;
  if (zh) {
    return `【重复的 FIN】${who}再次发送自己的 FIN${data}：它重复了 #${n} 包（#${n} 的重传），因为那个 FIN 没有及时得到确认。重复的 FIN 不会再关闭什么：挥手不前进，${ackOnly ? '只有它的 ACK 字段改变了下面的状态。' : '双方的状态都不变。'}`;
  }
  return `[FIN repeated] The ${who} sends its FIN again${data}: it repeats packet #${n} (a retransmission of #${n}), because that FIN was not acknowledged in time. A repeated FIN closes nothing new: the teardown does not advance${ackOnly ? ', and only its ACK field moves the states below.' : ' and neither side’s state changes.'}`;
}

export function resetSentence(a: AnalyzedPacket, lang: Lang): string {
  const who = ROLE[lang][a.from];
  const zh = lang === 'zh';
  if (a.resetKind === 'refused') {
    return zh
      ? `【RST】连接被拒绝：${formatHostPort(a.packet.src.address, a.packet.src.port)} 上没有程序在监听，${who}用 RST 立即拒绝了 SYN。`
      : `[RST] Connection refused: nothing listens on ${formatHostPort(a.packet.src.address, a.packet.src.port)}, so the ${who} rejects the SYN with a reset at once.`;
  }
  if (a.resetKind === 'after-close') {
    return zh
      ? `【RST】${who}在关闭过程中发送复位：连接立即终止，之后的数据都不再被接受（常见于关闭时仍有未读数据）。`
      : `[RST] The ${who} resets a connection that was closing: it ends at once and no more data is accepted (typical when a socket is closed with unread data).`;
  }
  return zh
    ? `【RST】${who}异常终止连接（例如 SO_LINGER 0、进程崩溃或对已不存在的连接回复）：连接立刻关闭，不再接受任何数据。`
    : `[RST] The ${who} aborts the connection (SO_LINGER 0, a crashed process, or a segment for a connection it no longer has): the connection ends at once and no more data is accepted.`;
}
