import { Command, CommanderError, Option } from 'commander';
import { codec as makeCodec } from '../net/framing/codec.js';
import { framingSpec, positiveInt, type FramingFlags } from '../net/framing/spec.js';
import type { Codec } from '../net/framing/types.js';
import { burstMessage } from '../net/tcp-echo/burst-check.js';
import { connectEcho, runBurst } from '../net/tcp-echo/client.js';
import { runInteractive } from '../net/tcp-echo/interactive.js';
import {
  burstText,
  renderInteractiveEvent,
  renderServerEvent,
  type OutputLine,
  type OutputMode,
} from '../net/tcp-echo/report.js';
import { startEchoServer } from '../net/tcp-echo/server.js';
import { GwError, invalidArgument } from '../shared/errors.js';
import { printError } from './report-error.js';

const SERVER_EXAMPLES = `
Examples:
  gw tcp-echo server                          # line framing on 127.0.0.1:1027; try: nc 127.0.0.1 1027
  gw tcp-echo server --framing raw            # no framing: watch reads merge and split
  gw tcp-echo server --framing length --length-bytes 2
  gw tcp-echo server --framing fixed --frame-size 32
  gw tcp-echo server --framing line --delimiter '\\r\\n' --json

Every read is reported as "read #3: 57 bytes → 2 messages + 9 bytes carried":
several messages in one read is sticky (粘包), bytes carried to the next read is split (拆包).`;

const CLIENT_EXAMPLES = `
Examples:
  gw tcp-echo client                          # type lines; exit or q quits
  printf 'a\\nb\\n' | gw tcp-echo client        # piped input works too
  gw tcp-echo client --framing raw --burst 50 # 50 writes, see how many reads they became
  gw tcp-echo client --framing length --burst 50 --split
  gw tcp-echo client --framing raw --burst 200 --nodelay   # Nagle off: compare the sticky count
  gw tcp-echo client --framing line --read-bytes 8         # an 8-byte read buffer splits every message

Use the same --framing (and its options) as the server.`;

interface CommonFlags extends FramingFlags {
  host: string;
  port: string;
  json?: boolean;
  quiet?: boolean;
}

interface ServerFlags extends CommonFlags {
  backlog?: string;
}

interface ClientFlags extends CommonFlags {
  burst?: string;
  size: string;
  nodelay?: boolean;
  split?: boolean;
  splitDelayMs: string;
  readBytes?: string;
  timeoutMs: string;
}

/** Parses and runs `gw tcp-echo server|client ...`. */
export async function run(argv: readonly string[]): Promise<void> {
  const program = new Command('gw tcp-echo')
    .description('A framed TCP echo server and client that show sticky and split packets.')
    .usage('server|client [options]');
  configure(program);
  program.addHelpText('after', `\nExamples:\n  gw tcp-echo server --framing raw\n  gw tcp-echo client --framing raw --burst 50`);

  const server = program
    .command('server')
    .description('echo every message back in the same framing, reporting each read');
  addCommonOptions(server);
  server
    .option('--backlog <n>', 'listen backlog (accept queue length)', '511')
    .addHelpText('after', SERVER_EXAMPLES)
    .action((flags: ServerFlags) => runServer(flags));

  const client = program
    .command('client')
    .description('send lines (or a --burst) and print or verify the echoes');
  addCommonOptions(client);
  client
    .option('--burst <n>', 'send N numbered messages as N back-to-back writes, then verify the echoes')
    .option('--size <bytes>', 'bytes per burst message', '16')
    .option('--nodelay', "set TCP_NODELAY (turn Nagle's algorithm off)")
    .option('--split', 'send each burst message as two writes with a pause between them')
    .option('--split-delay-ms <ms>', 'pause between the two halves with --split', '5')
    .option('--read-bytes <n>', "read into a fixed buffer of N bytes (the classic client's 1024)")
    .option('--timeout-ms <ms>', 'how long to wait for echoes', '10000')
    .addHelpText('after', CLIENT_EXAMPLES)
    .action((flags: ClientFlags) => runClient(flags));

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    printError(err, 'gw tcp-echo');
  }
}

function configure(command: Command): void {
  command.exitOverride();
  command.showHelpAfterError(false);
  command.configureOutput({
    outputError: (text, write) => {
      const message = text.replace(/^error: /, '').trim();
      write(`gw tcp-echo: ${message} [GW_ERR_USAGE]; see gw tcp-echo --help\n`);
    },
  });
}

function addCommonOptions(command: Command): void {
  command
    .option('--host <host>', 'address to listen on / connect to', '127.0.0.1')
    .option('--port <port>', 'TCP port', '1027')
    .addOption(
      new Option('--framing <name>', 'how messages are delimited on the byte stream')
        .choices(['line', 'length', 'fixed', 'raw'])
        .default('line'),
    )
    .option('--delimiter <text>', 'line framing: delimiter, escapes like \\r\\n accepted', '\\n')
    .option('--length-bytes <n>', 'length framing: header width, 1, 2 or 4', '4')
    .option('--frame-size <bytes>', 'fixed framing: bytes per frame', '64')
    .option('--pad-byte <byte>', 'fixed framing: fill byte for short messages', '\\0')
    .option('--max-frame-bytes <n>', 'refuse frames larger than this (k and m suffixes)', '1m')
    .option('--json', 'print events as NDJSON')
    .option('--quiet', 'print only errors and the summary');
}

function outputMode(flags: CommonFlags): OutputMode {
  return flags.json ? 'json' : flags.quiet ? 'quiet' : 'text';
}

function emit(line: OutputLine | undefined): void {
  if (line === undefined) return;
  (line.stream === 'err' ? process.stderr : process.stdout).write(`${line.text}\n`);
}

function parsePort(value: string, allowZero: boolean): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535 || (!allowZero && port === 0)) {
    throw invalidArgument('--port', value, allowZero ? 'expected 0-65535' : 'expected 1-65535');
  }
  return port;
}

async function runServer(flags: ServerFlags): Promise<void> {
  const codec = makeCodec(framingSpec(flags));
  const mode = outputMode(flags);
  const server = await startEchoServer({
    host: flags.host,
    port: parsePort(flags.port, true),
    codec,
    backlog: positiveInt('--backlog', flags.backlog, 511),
    onEvent: (event) => emit(renderServerEvent(event, mode)),
  });
  await untilSignal();
  await server.close();
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130));
      resolve();
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  });
}

async function runClient(flags: ClientFlags): Promise<void> {
  const codec = makeCodec(framingSpec(flags));
  const mode = outputMode(flags);
  const burst = flags.burst === undefined ? undefined : positiveInt('--burst', flags.burst, 1);
  const size = positiveInt('--size', flags.size, 16);
  if (burst !== undefined) codec.encode(burstMessage(burst - 1, size)); // fails early if it cannot be framed
  const conn = await connectEcho({
    host: flags.host,
    port: parsePort(flags.port, false),
    noDelay: flags.nodelay === true,
    ...(flags.readBytes === undefined ? {} : { readBytes: positiveInt('--read-bytes', flags.readBytes, 1024) }),
  });
  if (burst === undefined) {
    if (mode === 'text' && process.stdin.isTTY) {
      process.stdout.write(`connected to ${flags.host}:${flags.port}; type a line and press Enter, exit or q to quit\n`);
    }
    try {
      await runInteractive(conn, {
        codec,
        input: process.stdin,
        onEvent: (event) => emit(renderInteractiveEvent(event, mode)),
        drainTimeoutMs: positiveInt('--timeout-ms', flags.timeoutMs, 10000),
      });
    } finally {
      process.stdin.pause();
    }
    return;
  }
  await runBurstAndReport(conn, codec, burst, size, flags, mode);
}

async function runBurstAndReport(
  conn: Awaited<ReturnType<typeof connectEcho>>,
  codec: Codec,
  count: number,
  size: number,
  flags: ClientFlags,
  mode: OutputMode,
): Promise<void> {
  const result = await runBurst(conn, {
    codec,
    count,
    size,
    split: flags.split === true,
    splitDelayMs: positiveInt('--split-delay-ms', flags.splitDelayMs, 5),
    timeoutMs: positiveInt('--timeout-ms', flags.timeoutMs, 10000),
  });
  conn.socket.end();
  await conn.closed.catch(() => undefined);
  if (mode === 'json') process.stdout.write(`${JSON.stringify({ type: 'burst', size, ...result })}\n`);
  else for (const line of burstText(result, size)) process.stdout.write(`${line}\n`);
  if (result.mismatches > 0) {
    throw new GwError(
      'GW_ERR_ECHO_MISMATCH',
      `${result.mismatches} of ${count} echoes did not match what was sent`,
      { hint: 'client and server must use the same --framing and framing options' },
    );
  }
}
