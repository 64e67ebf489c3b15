import { Command, Option } from 'commander';
import type { FramingFlags } from '../net/framing/spec.js';
import { configureCommand, parseCommand } from './commander-setup.js';

const SERVER_EXAMPLES = `
Examples:
  gw tcp-echo server                          # line framing on 127.0.0.1:1027; try: nc 127.0.0.1 1027
  gw tcp-echo server --framing raw            # no framing: watch reads merge and split
  gw tcp-echo server --framing length --length-bytes 2
  gw tcp-echo server --framing fixed --frame-size 32
  gw tcp-echo server --framing line --delimiter '\\r\\n' --json

Every read is reported as "read #3: 57 bytes → 2 messages + 9 bytes carried":
several messages in one read is sticky (粘包), bytes carried to the next read is split (拆包).`;

const LAB_EXAMPLES = `
Examples:
  gw tcp-echo lab                       # 50 messages through raw, length, fixed and line framing
  gw tcp-echo lab --count 200 --size 100

Starts its own servers on 127.0.0.1 (free ports) and stops them when done.`;

const CLIENT_EXAMPLES = `
Examples:
  gw tcp-echo client                          # type lines; exit or q quits
  printf 'a\\nb\\n' | gw tcp-echo client        # piped input works too
  gw tcp-echo client --framing raw --burst 50 # 50 writes, see how many reads they became
  gw tcp-echo client --framing length --burst 50 --split
  gw tcp-echo client --framing raw --burst 200 --nodelay   # Nagle off: the summary explains the counts
  gw tcp-echo client --framing raw --burst 50 --lang zh     # 中文小结
  gw tcp-echo client --framing line --read-bytes 8         # an 8-byte read buffer splits every message

Use the same --framing (and its options) as the server: an echo comes back byte for byte
either way, so the server is the side that warns of a mismatch. Every number in the
--burst summary is counted on the client (its writes, and its reads of the echoes).`;

export interface LabFlags {
  lang: 'en' | 'zh';
  count: string;
  size: string;
  timeoutMs: string;
  json?: boolean;
}

export interface CommonFlags extends FramingFlags {
  lang: 'en' | 'zh';
  host: string;
  port: string;
  json?: boolean;
  quiet?: boolean;
}

export interface ServerFlags extends CommonFlags {
  backlog?: string;
}

export interface ClientFlags extends CommonFlags {
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
    .usage('server|client|lab [options]');
  configureCommand(program, 'gw tcp-echo');
  program.addHelpText(
    'after',
    `\nExamples:\n  gw tcp-echo lab\n  gw tcp-echo server --framing raw\n  gw tcp-echo client --framing raw --burst 50`,
  );

  const server = program
    .command('server')
    .description('echo every message back in the same framing, reporting each read');
  addCommonOptions(server);
  server
    .option('--backlog <n>', 'listen backlog (accept queue length)', '511')
    .addHelpText('after', SERVER_EXAMPLES)
    .action(async (flags: ServerFlags) => (await import('./tcp-echo-actions.js')).runServer(flags));

  const client = program
    .command('client')
    .description('send lines (or a --burst) and print or verify the echoes');
  addCommonOptions(client);
  client
    .option(
      '--burst <n>',
      'send N numbered messages as N back-to-back writes, then verify the echoes',
    )
    .option('--size <bytes>', 'bytes per burst message', '16')
    .option('--nodelay', "set TCP_NODELAY (turn Nagle's algorithm off)")
    .option('--split', 'send each burst message as two writes with a pause between them')
    .option('--split-delay-ms <ms>', 'pause between the two halves with --split', '5')
    .option('--read-bytes <n>', "read into a fixed buffer of N bytes (the classic client's 1024)")
    .option('--timeout-ms <ms>', 'how long to wait for echoes', '10000')
    .addHelpText('after', CLIENT_EXAMPLES)
    .action(async (flags: ClientFlags) => (await import('./tcp-echo-actions.js')).runClient(flags));

  program
    .command('lab')
    .description(
      'run the sticky/split lab on loopback: the bug, then the three fixes, side by side',
    )
    .option('--count <n>', 'messages per scenario', '50')
    .option('--size <bytes>', 'bytes per message', '24')
    .option('--timeout-ms <ms>', 'how long to wait for echoes', '10000')
    .option('--json', 'print the results as JSON')
    .addOption(langOption())
    .addHelpText('after', LAB_EXAMPLES)
    .action(async (flags: LabFlags) =>
      (await import('./tcp-echo-actions.js')).runLabCommand(flags),
    );

  await parseCommand(program, argv, 'gw tcp-echo');
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
    .option('--quiet', 'print only errors, the listening address and the summary')
    .addOption(langOption());
}

function langOption(): Option {
  return new Option('--lang <lang>', 'language of the summaries and warnings')
    .choices(['en', 'zh'])
    .default('en');
}
