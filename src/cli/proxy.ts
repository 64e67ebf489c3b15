import { Command } from 'commander';
import { configureCommand, parseCommand } from './commander-setup.js';

const EXAMPLES = `
Examples:
  gw proxy                           # reads ./gw.yaml
  gw proxy --config gw.yaml --check  # validate, print the routing table, exit
  gw proxy --config gw.yaml --check --json

A config has listeners (http, grpc, tcp) with routes, and upstreams with targets
and a balance strategy (random, round-robin, weighted, hash, least-conn, p2c):

  listeners:
    - name: web
      protocol: http
      listen: 127.0.0.1:8080
      routes:
        - match: { pathPrefix: /api }
          upstream: api
  upstreams:
    - name: api
      balance: weighted
      targets:
        - { address: 127.0.0.1:9001, weight: 3 }
        - { address: 127.0.0.1:9002, weight: 1 }

Errors in the config are all listed at once, each with its place in the file, and
no port is opened until the whole config is valid. gw demo runs a ready-made one.

Reloading: the config is read again on SIGHUP (kill -HUP PID) and when the file
changes. A valid one is put in force without dropping a connection (listeners
whose name, protocol and address are unchanged keep their sockets); a bad one is
logged with its field and the running config keeps serving.

Stopping: SIGTERM or Ctrl-C stops accepting, lets requests, calls and sessions
in flight finish for shutdownTimeoutMs (top level, default 5000), then exits 0;
a second signal exits at once.`;

export interface ProxyFlags {
  config: string;
  check?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** Parses and runs `gw proxy ...`. */
export async function run(argv: readonly string[]): Promise<void> {
  const program = configureCommand(new Command('gw proxy'), 'gw proxy')
    .description('API gateway: HTTP, WebSocket, gRPC and TCP proxying with load balancing')
    .option('-c, --config <file>', 'YAML or JSON config file', 'gw.yaml')
    .option('--check', 'validate the config, print the resolved routing table and exit')
    .option('--json', 'with --check: print the routing table as JSON')
    .option('--quiet', 'no access log')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: ProxyFlags) => (await import('./proxy-actions.js')).runProxy(flags));
  await parseCommand(program, argv, 'gw proxy');
}
