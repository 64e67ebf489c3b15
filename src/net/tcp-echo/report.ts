import { formatBytes, formatHostPort, formatRate, plural } from '../../shared/format.js';
import type { BurstResult, ReadEvent, ServerEvent } from './events.js';
import type { InteractiveEvent } from './interactive.js';
import { showText } from './show-text.js';
import { displayWidth } from '../../shared/columns.js';
import { WORDS, type Lang } from './words.js';

/** How the echo tools print: text for people, NDJSON for machines, or errors only. */
export type OutputMode = 'text' | 'json' | 'quiet';

/** One line of output and where it goes. */
export interface OutputLine {
  stream: 'out' | 'err';
  text: string;
}

/** What --quiet still shows besides errors: where it listens, and the summary. */
const QUIET_EVENTS = new Set<ServerEvent['type']>(['listening', 'summary']);

/**
 * Renders a server event as text or NDJSON, or returns undefined when
 * `quiet` hides it (quiet keeps errors, the listening line and the summary).
 */
export function renderServerEvent(
  event: ServerEvent,
  json: boolean,
  quiet: boolean,
): OutputLine | undefined {
  const isError =
    event.type === 'frame-error' ||
    event.type === 'incomplete' ||
    event.type === 'framing-mismatch';
  if (quiet && !isError && !QUIET_EVENTS.has(event.type)) return undefined;
  if (json) return { stream: 'out', text: JSON.stringify(toJson(event)) };
  return { stream: isError ? 'err' : 'out', text: serverText(event) };
}

function serverText(event: ServerEvent): string {
  switch (event.type) {
    case 'listening':
      return `listening on ${formatHostPort(event.host, event.port)}, framing ${event.framing}; Ctrl-C to stop`;
    case 'connect':
      return `conn #${event.conn} ${event.peer} connected (${event.active} active)`;
    case 'read':
      return readText(event);
    case 'frame-error':
      return `conn #${event.conn} ${event.peer}: ${event.code}: ${event.message}; connection closed${event.hint === undefined ? '' : `; ${event.hint}`}`;
    case 'framing-mismatch':
      return `conn #${event.conn} ${event.peer}: ${event.message}`;
    case 'incomplete':
      return `conn #${event.conn} ${event.peer} disconnected mid-message: ${plural(event.bytes, 'byte')} never formed a message`;
    case 'close':
      return `conn #${event.conn} ${event.peer} ${closeWords[event.reason]} after ${plural(event.reads, 'read')}, ${plural(event.messages, 'message')}, ${formatBytes(event.bytesIn)} (${event.active} active)`;
    case 'summary':
      return `summary: ${plural(event.connections, 'connection')}, ${plural(event.reads, 'read')}, ${plural(event.messages, 'message')}, ${formatBytes(event.bytesIn)} in, ${formatBytes(event.bytesOut)} out, ${plural(event.frameErrors, 'oversized frame')}, ${plural(event.incomplete, 'unfinished message')}`;
  }
}

const closeWords: Record<string, string> = {
  'peer-closed': 'closed by the peer (FIN)',
  reset: 'reset by the peer (RST)',
  'frame-too-large': 'closed for an oversized frame',
  error: 'failed',
  shutdown: 'closed at shutdown',
};

/** "read #3: 57 bytes → 2 messages + 9 bytes carried (sticky + split)" and the messages. */
export function readText(event: ReadEvent): string {
  let text = `conn #${event.conn} read #${event.read}: ${plural(event.bytes, 'byte')} → ${plural(event.messages, 'message')}`;
  if (event.carried > 0) text += ` + ${plural(event.carried, 'byte')} carried`;
  const notes: string[] = [];
  if (event.messages > 1) notes.push('sticky');
  if (event.carried > 0) notes.push('split');
  if (notes.length > 0) text += ` (${notes.join(' + ')})`;
  if (event.samples.length > 0) {
    const more = event.messages - event.samples.length;
    text += `: ${event.samples.map((m) => showText(m)).join(', ')}${more > 0 ? `, … ${more} more` : ''}`;
  }
  return text;
}

function toJson(event: ServerEvent): Record<string, unknown> {
  if (event.type !== 'read') return { ...event };
  return { ...event, samples: event.samples.map((m) => m.toString('utf8')) };
}

/** Renders one event of the interactive client. */
export function renderInteractiveEvent(
  event: InteractiveEvent,
  mode: OutputMode,
): OutputLine | undefined {
  if (mode === 'json') return { stream: 'out', text: JSON.stringify(interactiveJson(event)) };
  switch (event.type) {
    case 'sent':
      return {
        stream: 'out',
        text: `sent ${plural(event.bytes, 'byte')}: ${showText(event.data)} + ${plural(event.framingBytes, 'framing byte')}`,
      };
    case 'read':
      return mode === 'quiet'
        ? undefined
        : {
            stream: 'out',
            text: readText({ ...event, type: 'read', conn: 0, peer: '', samples: [] }).replace(
              'conn #0 ',
              '  ',
            ),
          };
    case 'echo':
      return { stream: 'out', text: `echo: ${showText(event.data, 200)}` };
    case 'refused':
      return { stream: 'err', text: `not sent: ${event.message} [${event.code}]` };
    case 'bye':
      return {
        stream: 'out',
        text: `bye: ${plural(event.sent, 'message')} sent, ${plural(event.echoed, 'echo', 'echoes')} received (${formatBytes(event.bytesSent)} out, ${formatBytes(event.bytesReceived)} in)`,
      };
  }
}

/** An interactive event as JSON: the message as text, without its raw bytes. */
function interactiveJson(event: InteractiveEvent): Record<string, unknown> {
  if (event.type === 'echo') return { type: event.type, read: event.read, message: event.message };
  if (event.type === 'sent') {
    const { type, message, bytes, framingBytes } = event;
    return { type, message, bytes, framingBytes };
  }
  return { ...event };
}

/** How a burst was sent, for the notes under its summary. */
export interface BurstTextOptions {
  lang?: Lang;
  /** TCP_NODELAY was set: Nagle's algorithm was off. */
  noDelay?: boolean;
  /** Each message was sent as two writes. */
  split?: boolean;
}

/**
 * The `--burst` summary as aligned text lines. Every number is the client's
 * and says so; raw framing, which has no messages, is counted in bytes; a
 * note explains what Nagle's algorithm (on or off) did to the counts.
 */
export function burstText(r: BurstResult, size: number, options: BurstTextOptions = {}): string[] {
  const w = WORDS[options.lang ?? 'en'];
  const raw = r.framing.startsWith('raw');
  const lines = [
    w.burstHead(r.messagesSent, size, r.framing),
    `  ${w.counted}`,
    row(w.writes, `${r.writes}  (${w.writesNote(options.split === true)})`),
    row(w.reads, `${r.reads}  (${w.readsNote})`),
  ];
  if (raw) {
    lines.push(
      row(w.bytesBack, `${w.bytesBackValue(r.bytesReceived, r.bytesSent)}  (${w.rawNoMessages})`),
    );
  } else {
    lines.push(row(w.decoded, w.decodedValue(r.messagesReceived, r.messagesSent)));
  }
  lines.push(
    row(w.mismatches, `${r.mismatches}  (${w.mismatchesNote})`),
    row(w.sticky, `${r.stickyReads}  (${w.stickyNote})`),
    row(w.split, `${r.splitReads}  (${w.splitNote})`),
    raw ? row(w.naive, w.naiveValue(r.reads, r.naiveWrong)) : row(w.framed, w.framedValue),
    row(w.elapsed, `${r.elapsedMs.toFixed(1)} ms (${formatRate(r.messagesPerSecond, 'messages')})`),
  );
  if (r.firstMismatch) {
    lines.push(
      row(
        w.firstMismatch,
        `#${r.firstMismatch.index}: sent ${showText(Buffer.from(r.firstMismatch.expected, 'latin1'))}, got ${showText(Buffer.from(r.firstMismatch.received, 'latin1'))}`,
      ),
    );
  }
  lines.push('', ...(options.noDelay === true ? w.nagleOff : w.nagleOn));
  return lines;
}

function row(label: string, value: string): string {
  return `  ${label}${' '.repeat(Math.max(1, 19 - displayWidth(label)))}${value}`;
}
