/**
 * The registry of gw's commands: name, one-line purpose, an example, and a
 * loader that imports the command's module only when it runs. `gw --help`
 * reads this table and nothing else, so it never loads a command's stack.
 * Only commands that work are listed here.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  example: string;
  /** Imports the module that builds and runs the command. */
  load: () => Promise<CommandModule>;
  /**
   * Work that can start before the command's module loads, given the
   * command's arguments (gw conns: copying big socket tables on other cores).
   */
  early?: (argv: readonly string[]) => Promise<void>;
}

/** What a command module exports. */
export interface CommandModule {
  /** Parses `argv` (after the command's name) and runs the command. */
  run: (argv: readonly string[]) => Promise<void>;
}

/**
 * Ends gw's help and every command's: the examples say `gw`, which
 * `npm install` alone does not put on the PATH (the README's set-up says so too).
 */
export const PATH_NOTE =
  'In a clone without `npm link`, type `npx gw …` for `gw …` (README: Set-up).';

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'demo',
    summary: 'the gateway in front of demo backends for http, ws, grpc and tcp, no config needed',
    example: 'gw demo   # then: curl -s http://127.0.0.1:8080/api/hello',
    load: () => import('./demo.js'),
  },
  {
    name: 'proxy',
    summary: 'API gateway: HTTP, WebSocket, gRPC and TCP proxying with load balancing',
    example: 'gw proxy --config gw.yaml --check',
    load: () => import('./proxy.js'),
  },
  {
    name: 'explain',
    summary:
      'explain a tcpdump capture packet by packet: handshake, data, ACKs, teardown, RST, retransmissions',
    example: 'gw explain cap.pcap --lang zh',
    load: () => import('./explain.js'),
  },
  {
    name: 'tcp-echo',
    summary: 'framed echo server and client that make sticky and split packets (粘包/拆包) visible',
    example:
      'gw tcp-echo server --framing raw   # then: gw tcp-echo client --framing raw --burst 50',
    load: () => import('./tcp-echo.js'),
  },
  {
    name: 'conns',
    summary:
      'netstat/ss-style socket table with state filters, owners and diagnoses (CLOSE_WAIT, TIME_WAIT)',
    example: 'gw conns -p --state close_wait   # or: gw conns --summary, gw conns --watch',
    load: () => import('./conns.js'),
    early: async (argv) => {
      // `gw conns --help` loads nothing but its flags.
      if (argv.includes('-h') || argv.includes('--help')) return;
      (await import('../conns/read-parallel.js')).startEarlyCopies(argv);
    },
  },
  {
    name: 'backend',
    summary: 'demo/test upstream servers (http, ws, grpc, tcp) that name themselves in every reply',
    example: 'gw backend http --port 9001 --name a',
    load: () => import('./backend.js'),
  },
];
