import { Command } from 'commander';
import { configureCommand, parseCommand } from './commander-setup.js';
import { BACKEND_KINDS, type BackendKind } from '../backend/backend-options.js';

const COMMON_NOTES = `
Every reply names the backend (--name, default backend-<port>), so a proxy's
load balancing is visible. --latency-ms delays each reply; --fail-rate R fails
that share of requests. Stop with Ctrl-C (exit 0).`;

const EXAMPLES: Record<BackendKind, string> = {
  http: `
Examples:
  gw backend http --port 9001 --name a
  gw backend http --port 9002 --name b --latency-ms 50 --fail-rate 0.1
  curl -i http://127.0.0.1:9001/hello                  # x-backend: a, JSON echo of the request
  curl -i 'http://127.0.0.1:9001/x?status=503'          # answer that status
  curl -s 'http://127.0.0.1:9001/big?bytes=1073741824' | wc -c   # 1 GiB, streamed
  curl -s --data-binary @file 'http://127.0.0.1:9001/up?echo=1'  # body streamed back
  curl -s --raw 'http://127.0.0.1:9001/t?trailers=1'    # chunked, trailer x-trailer: yes
  curl -s http://127.0.0.1:9001/healthz                 # ok (never failed)

Query: status=NNN, bytes=N, delayMs=N, echo=1, trailers=1, close=1.
Injected failures answer 500 {"backend":..., "error":"injected failure"}.`,
  ws: `
Examples:
  gw backend ws --port 9101 --name a
  gw backend ws --port 9102 --name b --latency-ms 20 --fail-rate 0.05

On connect sends {"backend":NAME,"path":...,"headers":{...}}, then echoes every
message (text as text, binary as binary). An upgrade with ?reject=1 is refused
with 403. Injected failures close the connection with code 1011.`,
  grpc: `
Examples:
  gw backend grpc --port 9201 --name a
  gw backend grpc --port 9202 --name b --latency-ms 10 --fail-rate 0.2

Serves gw.echo.v1.Echo (proto/echo.proto: Unary, ServerStream, ClientStream,
Bidi) and grpc.health.v1.Health/Check. Replies carry backend=NAME and the
trailer x-backend: NAME. Injected failures answer UNAVAILABLE (14).`,
  tcp: `
Examples:
  gw backend tcp --port 9301 --name a              # pure byte echo; try: nc 127.0.0.1 9301
  gw backend tcp --port 9302 --name b --banner     # first writes "hello from b"

Injected failures reset (RST) the connection on its first data.`,
};

export interface BackendFlags {
  host: string;
  port: string;
  name?: string;
  latencyMs: string;
  failRate: string;
  failHealth?: boolean;
  json?: boolean;
  quiet?: boolean;
  banner?: boolean;
  register?: string;
}

const DESCRIPTIONS: Record<BackendKind, string> = {
  http: 'HTTP/1.1 upstream that answers with a JSON echo of each request',
  ws: 'WebSocket upstream that says hello and echoes every message',
  grpc: 'gRPC upstream serving gw.echo.v1.Echo and the standard health check',
  tcp: 'TCP upstream that echoes bytes exactly',
};

/** Parses and runs `gw backend http|ws|grpc|tcp ...`. */
export async function run(argv: readonly string[]): Promise<void> {
  const program = new Command('gw backend')
    .description('Demo/test upstream servers that name themselves in every reply.')
    .usage(`${BACKEND_KINDS.join('|')} [--port P] [options]`);
  configureCommand(program, 'gw backend');
  program.addHelpText(
    'after',
    `\nExamples:\n  gw backend http --port 9001 --name a\n  gw backend ws --port 9101\n  gw backend grpc --port 9201 --fail-rate 0.1\n  gw backend tcp --port 9301 --banner\n${COMMON_NOTES}`,
  );
  for (const kind of BACKEND_KINDS) {
    const command = program.command(kind).description(DESCRIPTIONS[kind]);
    configureCommand(command, 'gw backend');
    addCommonOptions(command);
    if (kind === 'tcp') command.option('--banner', 'write "hello from NAME" on connect');
    command
      .addHelpText('after', `${EXAMPLES[kind]}\n${COMMON_NOTES}`)
      .action(async (flags: BackendFlags) =>
        (await import('./backend-actions.js')).runBackend(kind, flags),
      );
  }

  await parseCommand(program, argv, 'gw backend');
}

function addCommonOptions(command: Command): void {
  command
    .option('--port <port>', 'TCP port to listen on (0 picks a free one)', '0')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--name <name>', 'name echoed in every reply (default backend-<port>)')
    .option('--latency-ms <ms>', 'delay before each reply, in milliseconds', '0')
    .option('--fail-rate <share>', 'share of requests to fail, 0 to 1', '0')
    .option(
      '--register <url>',
      'register in etcd as etcd://HOST:PORT/PREFIX (key PREFIX+name, lease 5 s, removed on exit)',
    )
    .option('--fail-health', 'fail health checks (http /healthz 503, gRPC NOT_SERVING)')
    .option('--json', 'print events as NDJSON')
    .option('--quiet', 'print only the listening line and errors');
}
