/**
 * Colours for the text output, by meaning rather than by hue, so renderers
 * stay pure and tests can use {@link plainPaint}. The CLI builds a chalk-based
 * one when stdout is a terminal and NO_COLOR is unset.
 */
import type { TcpState } from './states.js';

export interface Paint {
  state: (state: TcpState, text: string) => string;
  added: (text: string) => string;
  removed: (text: string) => string;
  changed: (text: string) => string;
  heading: (text: string) => string;
  dim: (text: string) => string;
  warning: (text: string) => string;
  critical: (text: string) => string;
}

const same = (text: string): string => text;

/** No colour at all. */
export const plainPaint: Paint = {
  state: (_state, text) => text,
  added: same,
  removed: same,
  changed: same,
  heading: same,
  dim: same,
  warning: same,
  critical: same,
};

/** The colour roles a terminal palette provides (chalk's style functions fit). */
export interface Palette {
  green: (text: string) => string;
  red: (text: string) => string;
  yellow: (text: string) => string;
  cyan: (text: string) => string;
  magenta: (text: string) => string;
  gray: (text: string) => string;
  bold: (text: string) => string;
}

/**
 * States coloured by what they ask of the reader: LISTEN cyan, ESTABLISHED
 * green, handshakes yellow, the active close magenta, TIME_WAIT grey (normal,
 * it will pass), CLOSE_WAIT and LAST_ACK red (waiting on this host's
 * application).
 */
export function palettePaint(p: Palette): Paint {
  const byState: Readonly<Record<TcpState, (t: string) => string>> = {
    LISTEN: p.cyan,
    ESTABLISHED: p.green,
    SYN_SENT: p.yellow,
    SYN_RECV: p.yellow,
    FIN_WAIT1: p.magenta,
    FIN_WAIT2: p.magenta,
    CLOSING: p.magenta,
    TIME_WAIT: p.gray,
    CLOSE_WAIT: p.red,
    LAST_ACK: p.red,
    CLOSE: same,
    UNKNOWN: same,
  };
  return {
    state: (state, text) => byState[state](text),
    added: p.green,
    removed: p.red,
    changed: p.yellow,
    heading: p.bold,
    dim: p.gray,
    warning: p.yellow,
    critical: (text) => p.bold(p.red(text)),
  };
}
