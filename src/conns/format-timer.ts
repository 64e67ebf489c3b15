/** Timers and durations as the table prints them. Pure. */
import type { ConnSocket } from './types.js';

/** `512ms`, `8.4s`, `58s`, `2m05s`, `2h00m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * The timer column: kind and time left, like netstat -o (`on`, `keepalive`,
 * `timewait`, `probe`), then `×N` for the retransmissions (`on`) or
 * unanswered probes (`keepalive`, `probe`) so far. Empty when none runs.
 */
export function timerText(s: ConnSocket): string {
  const t = s.timer;
  if (t === null) return '';
  const n = t.kind === 'on' ? s.retransmits : t.kind === 'timewait' ? 0 : s.probes;
  return `${t.kind} ${formatDuration(t.remainingMs)}${n > 0 ? ` ×${n}` : ''}`;
}
