import { Command } from 'commander';
import { configureCommand, parseCommand } from './commander-setup.js';

const EXAMPLES = `
Examples:
  gw proxy                           # reads ./gw.yaml
  gw proxy --config gw.yaml --check  # validate, print the routing table, exit
  gw proxy --config gw.yaml --check --json
  gw proxy config put etcd://127.0.0.1:2379/gw/config gw.yaml   # validate, publish
  gw proxy --config etcd://127.0.0.1:2379/gw/config             # every instance follows the key
  gw proxy --config gw.yaml --workers auto                      # one worker per core

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

A config kept in etcd (etcd://HOST:PORT/KEY, or etcd://HOST:PORT,HOST:PORT/KEY
for a cluster) is validated the same way; relative file paths in it start at
the working directory of gw. Each new revision of the key is validated before
it is applied: a bad one is logged with the field's path and skipped, and the
last good one keeps serving.

Reloading: the config is read again on SIGHUP (kill -HUP PID) and when the file
changes. A valid one is put in force without dropping a connection (listeners
whose name, protocol and address are unchanged keep their sockets); a bad one is
logged with its field and the running config keeps serving.

Workers: --workers N (or auto, one per core) runs N processes that share the
listeners; a primary process handles no traffic: it runs the health checks and
discovery once for all workers, restarts a worker that dies, and hands every
config revision to each worker (the log says how many took it). Signals go to
the primary. See README "Using every core (--workers)".

Stopping: SIGTERM or Ctrl-C stops accepting, lets requests, calls and sessions
in flight finish for shutdownTimeoutMs (top level, default 5000), then exits 0;
a second signal exits at once.`;

const CONFIG_EXAMPLES = `
Examples:
  gw proxy config put etcd://127.0.0.1:2379/gw/config gw.yaml
  gw proxy config get etcd://127.0.0.1:2379/gw/config > gw.yaml

put validates FILE as gw proxy --check does and writes nothing if it is
invalid (exit 2); it prints the key's new revision (put etcd://…: etcd rev 43).
get prints the stored text on stdout and its revision on stderr.`;

export interface ProxyFlags {
  config: string;
  check?: boolean;
  json?: boolean;
  quiet?: boolean;
  /** `--workers`: a count, or `auto`; parsed by {@link parseWorkers}. */
  workers?: string;
}

/** Parses and runs `gw proxy ...`. */
export async function run(argv: readonly string[]): Promise<void> {
  const program = configureCommand(new Command('gw proxy'), 'gw proxy')
    .description('API gateway: HTTP, WebSocket, gRPC and TCP proxying with load balancing')
    .option(
      '-c, --config <file|url>',
      'YAML or JSON config file, or etcd://HOST:PORT/KEY',
      'gw.yaml',
    )
    .option('--check', 'validate the config, print the resolved routing table and exit')
    .option('--json', 'with --check: print the routing table as JSON')
    .option('--quiet', 'no access log')
    .option(
      '-w, --workers <n|auto>',
      'worker processes sharing the listeners (auto: one per core; 1: a single process)',
      '1',
    )
    .addHelpText('after', EXAMPLES)
    .action(async (flags: ProxyFlags) => (await import('./proxy-actions.js')).runProxy(flags));
  addConfigCommand(program);
  await parseCommand(program, argv, 'gw proxy');
}

/** `gw proxy config put|get`: publish and read a config kept in etcd. */
function addConfigCommand(program: Command): void {
  const config = configureCommand(program.command('config'), 'gw proxy config')
    .description('publish or read a gateway config kept in etcd')
    .addHelpText('after', CONFIG_EXAMPLES);
  configureCommand(config.command('put'), 'gw proxy config put')
    .description('validate FILE as --check does, then write it to the etcd key')
    .argument('<url>', 'etcd://HOST:PORT/KEY')
    .argument('<file>', 'YAML or JSON config file')
    .addHelpText('after', CONFIG_EXAMPLES)
    .action(async (url: string, file: string) =>
      (await import('./proxy-config-actions.js')).runConfigPut(url, file),
    );
  configureCommand(config.command('get'), 'gw proxy config get')
    .description("print the etcd key's config text (stdout) and revision (stderr)")
    .argument('<url>', 'etcd://HOST:PORT/KEY')
    .addHelpText('after', CONFIG_EXAMPLES)
    .action(async (url: string) => (await import('./proxy-config-actions.js')).runConfigGet(url));
}
