/**
 * Runs wrk (pinned to the load CPU) and reads its `--latency` report:
 * requests per second, the latency distribution, completed requests, and
 * every kind of error wrk counts (socket errors and non-2xx/3xx answers).
 */
import { runToEnd, type Processes } from './procs.js';

export interface WrkResult {
  requestsPerSecond: number;
  /** Requests completed in the run. */
  requests: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses. */
  errors: number;
  command: string;
}

/** wrk's duration text ("686.00us", "4.28ms", "1.02s", "1.50m") in milliseconds. */
export function durationMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (match === null) throw new Error(`wrk: unreadable duration ${JSON.stringify(text)}`);
  const value = Number(match[1]);
  const scale = { us: 0.001, ms: 1, s: 1000, m: 60_000 }[match[2] as 'us' | 'ms' | 's' | 'm'];
  return value * scale;
}

/** Parses the text wrk prints with `--latency`. Throws when a figure is missing. */
export function parseWrk(output: string): Omit<WrkResult, 'command'> {
  const need = (pattern: RegExp, what: string): string => {
    const value = pattern.exec(output)?.[1];
    if (value === undefined) throw new Error(`wrk: no ${what} in its output:\n${output}`);
    return value;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    output,
  );
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((n, v) => n + Number(v), 0);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  return {
    requestsPerSecond: Number(need(/Requests\/sec:\s+([\d.]+)/, 'Requests/sec')),
    requests: Number(need(/(\d+) requests in /, 'request count')),
    p50Ms: durationMs(need(/^\s+50%\s+(\S+)/m, '50% latency')),
    p99Ms: durationMs(need(/^\s+99%\s+(\S+)/m, '99% latency')),
    errors: socketErrors + non2xx,
  };
}

/**
 * `wrk -t1 -c{connections} -d{seconds}s --latency --timeout 5s [-H 'name: value'...] url`, pinned
 * to the load CPU. `headers` (`name: value` each) go on every request (`gw-jwt`'s bearer token).
 */
export async function runWrk(
  procs: Processes,
  url: string,
  seconds: number,
  connections: number,
  headers: readonly string[] = [],
): Promise<WrkResult> {
  const args = [
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    '--latency',
    '--timeout',
    '5s',
    ...headers.flatMap((h) => ['-H', h]),
    url,
  ];
  const { stdout, command } = await runToEnd(procs, 'wrk', 'wrk', args, (seconds + 30) * 1000);
  return { ...parseWrk(stdout), command };
}
