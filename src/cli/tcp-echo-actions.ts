import { codec as makeCodec } from '../net/framing/codec.js';
import { framingSpec, positiveInt } from '../net/framing/spec.js';
import { burstMessage } from '../net/tcp-echo/burst-check.js';
import { connectEcho, runBurst, type BurstOptions } from '../net/tcp-echo/client.js';
import { runInteractive } from '../net/tcp-echo/interactive.js';
import {
  burstText,
  renderInteractiveEvent,
  renderServerEvent,
  type BurstTextOptions,
  type OutputLine,
  type OutputMode,
} from '../net/tcp-echo/report.js';
import { startEchoServer } from '../net/tcp-echo/server.js';
import { GwError, invalidArgument } from '../shared/errors.js';
import { parsePort } from './parse-port.js';
import { runLab } from '../net/tcp-echo/lab.js';
import { labText } from '../net/tcp-echo/lab-report.js';
import { untilSignal } from './commander-setup.js';
import type { ClientFlags, CommonFlags, LabFlags, ServerFlags } from './tcp-echo.js';
import { formatHostPort } from '../shared/format.js';

/*
 * The work behind `gw tcp-echo server|client`, imported only when one of them
 * runs, so that `gw tcp-echo --help` loads nothing but commander.
 */

function outputMode(flags: CommonFlags): OutputMode {
  return flags.json ? 'json' : flags.quiet ? 'quiet' : 'text';
}

function emit(line: OutputLine | undefined): void {
  if (line === undefined) return;
  (line.stream === 'err' ? process.stderr : process.stdout).write(`${line.text}\n`);
}

export async function runServer(flags: ServerFlags): Promise<void> {
  const codec = makeCodec(framingSpec(flags));
  const json = flags.json === true;
  const quiet = flags.quiet === true;
  const server = await startEchoServer({
    host: flags.host,
    port: parsePort('--port', flags.port, { allowZero: true }),
    codec,
    backlog: positiveInt('--backlog', flags.backlog, 511),
    reportReads: !quiet,
    lang: flags.lang,
    onEvent: (event) => emit(renderServerEvent(event, json, quiet)),
  });
  await untilSignal();
  await server.close();
}

export async function runClient(flags: ClientFlags): Promise<void> {
  const codec = makeCodec(framingSpec(flags));
  const mode = outputMode(flags);
  const burst = flags.burst === undefined ? undefined : positiveInt('--burst', flags.burst, 1);
  const size = positiveInt('--size', flags.size, 16);
  if (burst !== undefined) codec.encode(burstMessage(burst - 1, size)); // fails early if it cannot be framed
  // Every flag is checked before connecting: a bad value is a usage error, whatever the peer.
  const timeoutMs = positiveInt('--timeout-ms', flags.timeoutMs, 10000);
  const splitDelayMs = positiveInt('--split-delay-ms', flags.splitDelayMs, 5);
  const port = parsePort('--port', flags.port);
  const conn = await connectEcho({
    host: flags.host,
    port,
    noDelay: flags.nodelay === true,
    ...(flags.readBytes === undefined
      ? {}
      : { readBytes: positiveInt('--read-bytes', flags.readBytes, 1024) }),
  });
  if (burst === undefined) {
    if (mode === 'text' && process.stdin.isTTY) {
      process.stdout.write(
        `connected to ${formatHostPort(flags.host, port)}; type a line and press Enter, exit or q to quit\n`,
      );
    }
    try {
      await runInteractive(conn, {
        codec,
        input: process.stdin,
        onEvent: (event) => emit(renderInteractiveEvent(event, mode)),
        drainTimeoutMs: timeoutMs,
      });
    } finally {
      process.stdin.pause();
    }
    return;
  }
  const burstOptions = {
    codec,
    count: burst,
    size,
    split: flags.split === true,
    splitDelayMs,
    timeoutMs,
  };
  await runBurstAndReport(conn, burstOptions, mode, {
    lang: flags.lang,
    noDelay: flags.nodelay === true,
    split: flags.split === true,
  });
}

async function runBurstAndReport(
  conn: Awaited<ReturnType<typeof connectEcho>>,
  options: BurstOptions,
  mode: OutputMode,
  text: BurstTextOptions,
): Promise<void> {
  const { count, size } = options;
  const result = await runBurst(conn, options);
  conn.socket.end();
  await conn.closed.catch(() => undefined);
  if (mode === 'json')
    process.stdout.write(`${JSON.stringify({ type: 'burst', size, ...result })}\n`);
  else for (const line of burstText(result, size, text)) process.stdout.write(`${line}\n`);
  if (result.mismatches > 0) {
    throw new GwError(
      'GW_ERR_ECHO_MISMATCH',
      `${result.mismatches} of ${count} echoes did not match what was sent`,
      { hint: 'client and server must use the same --framing and framing options' },
    );
  }
}

/** `gw tcp-echo lab`: the whole sticky/split lesson in one run. */
export async function runLabCommand(flags: LabFlags): Promise<void> {
  const count = positiveInt('--count', flags.count, 50);
  const size = positiveInt('--size', flags.size, 24);
  if (size > 65536) throw invalidArgument('--size', flags.size, 'at most 65536 bytes for the lab');
  const runs = await runLab({
    host: '127.0.0.1',
    count,
    size,
    timeoutMs: positiveInt('--timeout-ms', flags.timeoutMs, 10000),
  });
  if (flags.json === true) {
    process.stdout.write(`${JSON.stringify({ type: 'lab', count, size, runs })}\n`);
  } else {
    process.stdout.write(labText(runs, count, size, flags.lang));
  }
  const bad = runs.filter((r) => r.framing !== 'raw' && r.result.mismatches > 0);
  if (bad.length > 0) {
    throw new GwError('GW_ERR_ECHO_MISMATCH', `${bad.length} framed scenarios lost messages`, {
      hint: 'this is a bug in gw; please report it with the lab output',
    });
  }
}
