/**
 * What a segment carries at the application layer, in a few words: the one
 * recogniser every input goes through. A pcap gives the payload's bytes;
 * tcpdump text gives them with -x/-X (exactly) or -A (as printed), and
 * otherwise only the label tcpdump appends (`length 73: HTTP: GET / HTTP/1.1`).
 * Pure.
 */
import type { TcpPacket } from '../types.js';
import type { Lang } from './describe.js';

/** The first letters of the HTTP methods and of `HTTP/`: other payloads are not looked at. */
const HTTP_FIRST_BYTES = new Set(Array.from({ length: 6 }, (_, i) => 'GPDHOC'.charCodeAt(i)));

const REQUEST_LINE = /^(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|CONNECT) \S+ HTTP\/1\.[01]$/;
const STATUS_LINE = /^HTTP\/1\.[01] \d{3}/;

/** A recognised application message: its kind and the line that shows it. */
export interface AppMessage {
  readonly kind: 'http-request' | 'http-response';
  readonly line: string;
}

const LABEL: Readonly<Record<Lang, Record<AppMessage['kind'], string>>> = {
  en: { 'http-request': 'HTTP request', 'http-response': 'HTTP response' },
  zh: { 'http-request': 'HTTP 请求', 'http-response': 'HTTP 响应' },
};

/**
 * An HTTP/1.x request or status line at the start of `head` (RFC 9112 §3,
 * §4). The line ends at CRLF, or at a bare LF, which RFC 9112 §2.2 lets a
 * recipient accept (and which is all tcpdump -A shows of a CRLF).
 */
export function recognise(head: string): AppMessage | undefined {
  const end = head.indexOf('\n');
  const line = (end < 0 ? head : head.slice(0, end)).replace(/\r$/, '');
  if (REQUEST_LINE.test(line)) return { kind: 'http-request', line };
  if (STATUS_LINE.test(line)) return { kind: 'http-response', line };
  return undefined;
}

/** The message at the start of a payload, if it is one gw knows. */
export function recognisePayload(payload: Uint8Array | undefined): AppMessage | undefined {
  if (payload === undefined || payload.length < 8 || !HTTP_FIRST_BYTES.has(payload[0] ?? 0)) {
    return undefined;
  }
  const view = Buffer.from(payload.buffer, payload.byteOffset, Math.min(120, payload.length));
  return recognise(view.toString('latin1'));
}

/**
 * The sentence on a packet's application data, in `lang`, or undefined when
 * nothing is known: the payload through {@link recognise}, else tcpdump's
 * label (its `HTTP: ` lines through the same recogniser, so that a text and
 * its pcap read alike; other labels quoted as tcpdump printed them).
 */
export function applicationSentence(p: TcpPacket, lang: Lang): string | undefined {
  let message = recognisePayload(p.payload);
  const note = p.note;
  if (message === undefined && note?.startsWith('HTTP: ') === true) {
    message = recognise(note.slice('HTTP: '.length));
  }
  if (message !== undefined) {
    const what = `${LABEL[lang][message.kind]} "${message.line}"`;
    return lang === 'zh' ? `应用层数据：${what}。` : `Application data: ${what}.`;
  }
  if (note === undefined) return undefined;
  return lang === 'zh'
    ? `应用层数据（tcpdump 的标注）：${note}。`
    : `Application data (as tcpdump labels it): ${note}.`;
}
