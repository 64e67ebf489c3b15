import { codec } from '../framing/codec.js';
import type { FramingSpec } from '../framing/types.js';
import { connectEcho, runBurst } from './client.js';
import type { BurstResult } from './events.js';
import { startEchoServer } from './server.js';
import { WORDS, type LabScenarioKind } from './words.js';

/** One run of the lab: a framing, how the client read, and what it measured. */
export interface LabRun {
  /** The scenario's title in English (the text report uses `scenario` and `--lang`). */
  title: string;
  scenario: LabScenarioKind;
  framing: string;
  /** The client's read buffer in bytes; undefined for Node's default 64 KiB reads. */
  readBytes: number | undefined;
  /** Counted on the client: its writes, and its reads of the echoes. */
  result: BurstResult;
}

export interface LabOptions {
  host: string;
  count: number;
  size: number;
  timeoutMs: number;
}

/** One scenario of the lab. */
export interface LabScenario {
  kind: LabScenarioKind;
  title: string;
  spec: FramingSpec;
  readBytes?: number;
}

/**
 * The lab's scenarios: the bug twice (sticky, then split), then the three
 * fixes. The split row and the fixes read through the same small buffer, two
 * thirds of a message, so every fix is shown under the same cuts.
 */
export function labScenarios(size: number): LabScenario[] {
  const max = 1024 * 1024;
  const readBytes = labReadBytes(size);
  const make = (kind: LabScenarioKind, spec: FramingSpec, small: boolean): LabScenario => ({
    kind,
    title: WORDS.en.labScenario(kind, small ? readBytes : undefined, size),
    spec,
    ...(small ? { readBytes } : {}),
  });
  return [
    make('sticky', { framing: 'raw' }, false),
    make('split', { framing: 'raw' }, true),
    make('length', { framing: 'length', lengthBytes: 4, maxFrameBytes: max }, true),
    make('fixed', { framing: 'fixed', frameSize: size + 8, padByte: 0 }, true),
    make('line', { framing: 'line', delimiter: Buffer.from('\n'), maxFrameBytes: max }, true),
  ];
}

/** The small read buffer of the split row and the fixes: two thirds of a message, at least 1 byte. */
export function labReadBytes(size: number): number {
  return Math.max(1, Math.floor((size * 2) / 3));
}

/**
 * Runs the sticky/split lab end to end on loopback: for each scenario, an
 * echo server on a free port and a client burst against it. Every server it
 * starts is closed before it returns.
 */
export async function runLab(options: LabOptions): Promise<LabRun[]> {
  const runs: LabRun[] = [];
  for (const scenario of labScenarios(options.size)) {
    const framing = codec(scenario.spec);
    const server = await startEchoServer({
      host: options.host,
      port: 0,
      codec: framing,
      onEvent: () => undefined,
    });
    try {
      const conn = await connectEcho({
        host: server.host,
        port: server.port,
        noDelay: false,
        ...(scenario.readBytes === undefined ? {} : { readBytes: scenario.readBytes }),
      });
      const result = await runBurst(conn, {
        codec: framing,
        count: options.count,
        size: options.size,
        split: false,
        splitDelayMs: 0,
        timeoutMs: options.timeoutMs,
      });
      conn.socket.end();
      await conn.closed;
      runs.push({
        title: scenario.title,
        scenario: scenario.kind,
        framing: scenario.spec.framing,
        readBytes: scenario.readBytes,
        result,
      });
    } finally {
      await server.close(500);
    }
  }
  return runs;
}
