import { codec } from '../framing/codec.js';
import type { FramingSpec } from '../framing/types.js';
import { connectEcho, runBurst } from './client.js';
import type { BurstResult } from './events.js';
import { startEchoServer } from './server.js';

/** One run of the lab: a framing, how the client read, and what it measured. */
export interface LabRun {
  title: string;
  framing: string;
  readBytes: number | undefined;
  result: BurstResult;
}

export interface LabOptions {
  host: string;
  count: number;
  size: number;
  timeoutMs: number;
}

/** The lab's scenarios: the bug twice (sticky, then split), then the three fixes. */
export function labScenarios(
  size: number,
): { title: string; spec: FramingSpec; readBytes?: number }[] {
  const max = 1024 * 1024;
  const readBytes = Math.max(1, Math.floor((size * 2) / 3));
  return [
    { title: 'raw: writes merge into fewer reads (粘包)', spec: { framing: 'raw' } },
    {
      title: `raw: a ${readBytes}-byte read buffer cuts messages (拆包)`,
      spec: { framing: 'raw' },
      readBytes,
    },
    {
      title: 'fix 1: length header',
      spec: { framing: 'length', lengthBytes: 4, maxFrameBytes: max },
      readBytes,
    },
    {
      title: 'fix 2: fixed length',
      spec: { framing: 'fixed', frameSize: size + 8, padByte: 0 },
      readBytes,
    },
    {
      title: 'fix 3: delimiter',
      spec: { framing: 'line', delimiter: Buffer.from('\n'), maxFrameBytes: max },
      readBytes,
    },
  ];
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
