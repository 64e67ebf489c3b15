import { formatBytes, formatHostPort, formatRate, plural, preview } from '../../shared/format.js';
import type { BurstResult, ReadEvent, ServerEvent } from './events.js';
import type { InteractiveEvent } from './interactive.js';

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
  const isError = event.type === 'frame-error' || event.type === 'incomplete';
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
      return `conn #${event.conn} ${event.peer}: ${event.code}: ${event.message}; connection closed`;
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
    text += `: ${event.samples.map((m) => preview(m)).join(', ')}${more > 0 ? `, … ${more} more` : ''}`;
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
  if (mode === 'json') return { stream: 'out', text: JSON.stringify(event) };
  switch (event.type) {
    case 'sent':
      return {
        stream: 'out',
        text: `sent ${plural(event.bytes, 'byte')}: ${preview(Buffer.from(event.message))} + ${plural(event.framingBytes, 'framing byte')}`,
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
      return { stream: 'out', text: `echo: ${preview(Buffer.from(event.message), 200)}` };
    case 'refused':
      return { stream: 'err', text: `not sent: ${event.message} [${event.code}]` };
    case 'bye':
      return {
        stream: 'out',
        text: `bye: ${plural(event.sent, 'message')} sent, ${plural(event.echoed, 'echo', 'echoes')} received (${formatBytes(event.bytesSent)} out, ${formatBytes(event.bytesReceived)} in)`,
      };
  }
}

/** The `--burst` summary as aligned text lines. */
export function burstText(r: BurstResult, size: number): string[] {
  const raw = r.framing.startsWith('raw');
  const lines = [
    `burst: ${plural(r.messagesSent, 'message')} of ${plural(size, 'byte')}, framing ${r.framing}`,
    row('writes made', `${r.writes}`),
    row('reads seen', `${r.reads}`),
    row('messages received', `${r.messagesReceived} of ${r.messagesSent}`),
    row('mismatches', `${r.mismatches}`),
    row('sticky reads', `${r.stickyReads}  (one read held bytes of several messages: 粘包)`),
    row('split reads', `${r.splitReads}  (one read began or ended inside a message: 拆包)`),
  ];
  if (raw) {
    lines.push(
      row(
        'naive reader',
        `taking each read as a message gives ${plural(r.reads, 'message')}, ${r.naiveWrong} of them wrong`,
      ),
    );
  } else {
    lines.push(row('framing', 'the decoder rebuilt every message whatever the reads looked like'));
  }
  lines.push(
    row('elapsed', `${r.elapsedMs.toFixed(1)} ms (${formatRate(r.messagesPerSecond, 'messages')})`),
  );
  if (r.firstMismatch) {
    lines.push(
      row(
        'first mismatch',
        `#${r.firstMismatch.index}: sent ${preview(Buffer.from(r.firstMismatch.expected, 'latin1'))}, got ${preview(Buffer.from(r.firstMismatch.received, 'latin1'))}`,
      ),
    );
  }
  return lines;
}

function row(label: string, value: string): string {
  return `  ${label.padEnd(18)} ${value}`;
}
