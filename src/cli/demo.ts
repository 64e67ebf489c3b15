import { Command } from 'commander';
import { configureCommand, parseCommand } from './commander-setup.js';

const EXAMPLES = `
Examples:
  gw demo                      # gateway on 127.0.0.1:8080 (http, ws), :8081 (grpc), :8082 (tcp)
  gw demo --base-port 18080    # if 8080-8082 are taken
  gw demo --print-config       # the embedded config, as YAML to start your own gw.yaml
  gw demo call grpc --count 6  # with a demo running: six gRPC calls, and who answered each

Everything listens on 127.0.0.1 only. Ctrl-C stops the gateway and all twelve backends.`;

export interface DemoFlags {
  basePort: string;
  quiet?: boolean;
  printConfig?: boolean;
}

export interface CallFlags {
  basePort: string;
  count: string;
  path: string;
}

/** Parses and runs `gw demo ...`. */
export async function run(argv: readonly string[]): Promise<void> {
  const program = configureCommand(new Command('gw demo'), 'gw demo')
    .description('run the gateway with three demo backends per protocol, no config needed')
    // `gw demo call ... --base-port P`: the option belongs to `call`, not to `demo`.
    .enablePositionalOptions()
    .option('--base-port <port>', 'http on PORT, grpc on PORT+1, tcp on PORT+2', '8080')
    .option('--quiet', 'no access log')
    .option('--print-config', 'print the embedded config and exit')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: DemoFlags) => (await import('./demo-actions.js')).runDemo(flags));
  program
    .command('call')
    .description('call a running demo and print which backend answered')
    .argument('<kind>', 'http, ws, grpc or tcp')
    .option('--base-port <port>', "the demo's base port", '8080')
    .option('--count <n>', 'how many calls', '3')
    .option('--path <path>', 'for http: the path to GET', '/api/hello')
    .action(async (kind: string, flags: CallFlags) =>
      (await import('./demo-actions.js')).runCall(kind, flags),
    );
  await parseCommand(program, argv, 'gw demo');
}
