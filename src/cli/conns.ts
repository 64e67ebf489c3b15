import { Command, Option } from 'commander';
import type { ConnsFlags } from '../conns/options.js';
import { configureCommand, parseCommand } from './commander-setup.js';

const EXAMPLES = `
Examples:
  gw conns                              # every TCP socket, like ss -tan (gw conns -tanp works too)
  gw conns -p --state close_wait        # who holds CLOSE_WAIT sockets, and what a pile-up means
  gw conns --state connected --port 443 # ss's state groups: all, connected, synchronized, bucket, big
  gw conns -l -p                        # listening sockets and their programs, like netstat -tlnp
  gw conns --remote 10.0.0.0/8 -4       # peers in a block, IPv4 only
  gw conns -u                           # UDP sockets (-tu for both)
  gw conns --summary                    # counts by state, top peers and owners of CLOSE_WAIT and TIME_WAIT
  gw conns --watch 1 --state time-wait  # refresh every second: + new, - closed, ~ changed, state deltas
  gw conns --json | jq '.[] | select(.recvQ > 0)'
  gw conns --from snap/ --lang zh       # a snapshot from another machine, diagnoses in Chinese

A snapshot: mkdir snap; for f in tcp tcp6 udp udp6 netstat snmp; do cat /proc/net/$f > snap/$f; done;
            cat /proc/sys/net/ipv4/ip_local_port_range > snap/ip_local_port_range

States are the kernel's names (CLOSE_WAIT); --state also takes ss's (close-wait, estab, listening),
dashes or underscores, any case. Addresses are never resolved to names. Diagnoses appear under the
table when a state piles up: CLOSE_WAIT in one process, TIME_WAIT near the ephemeral port range,
SYN_RECV on one listener, a full accept queue.`;

/** Repeatable options collect their values (`--state a --state b`). */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Parses and runs `gw conns ...`. */
export async function run(argv: readonly string[]): Promise<void> {
  const program = new Command('gw conns')
    .description(
      'A netstat/ss-style view of TCP and UDP sockets: states, queues, timers, owners, and what a pile-up means.',
    )
    .usage('[options]');
  configureCommand(program, 'gw conns');
  program
    .option('-t, --tcp', 'TCP sockets (the default)')
    .option('-u, --udp', 'UDP sockets (with -t: both)')
    .option('-4, --ipv4', 'IPv4 sockets only')
    .option('-6, --ipv6', 'IPv6 sockets only (IPv4-mapped included, as ss does)')
    .option('-a, --all', 'every state (already the default; accepted as in ss -tan)')
    .option('-n, --numeric', 'numeric addresses (always; accepted as in ss -tan)')
    .option('--state <states>', 'states to show, comma-separated or repeated', collect)
    .option('--port <ports>', 'local or remote port: 80, 80,443 or 8000-8100', collect)
    .option('--sport <ports>', 'local port', collect)
    .option('--dport <ports>', 'remote port', collect)
    .option('--local <addr>', 'local address or CIDR block', collect)
    .option('--remote <addr>', 'remote address or CIDR block', collect)
    .option('-l, --listen', 'listening sockets only (LISTEN; unconnected UDP)')
    .option('-p, --process', 'show the owning process (PID/Program) from /proc/PID/fd')
    .option('--pid <pids>', 'sockets held by these processes (implies -p)', collect)
    .option('-e, --extended', 'show user and inode, like netstat -e')
    .option('-o, --timers', 'timers (always shown; accepted as in netstat -o)')
    .option(
      '-s, --summary',
      'counts by state and protocol, top peers and owners of CLOSE_WAIT and TIME_WAIT',
    )
    .option(
      '--json',
      'write the sockets as a JSON array (with --summary: the summary as one object)',
    )
    .option('--watch [seconds]', 'refresh every SECONDS (default 2), marking changes; Ctrl-C stops')
    .option('-c, --continuous', 'refresh every second, like netstat -c (same as --watch 1)')
    .option('--count <n>', 'with --watch: stop after N refreshes')
    .option('--from <dir>', 'read saved copies of /proc/net/tcp, tcp6, udp, udp6 from DIR')
    .addOption(
      new Option('--lang <lang>', 'language of summary and diagnoses')
        .choices(['en', 'zh'])
        .default('en'),
    )
    .option(
      '--pileup <n>',
      'sockets in one state for one process or listener that count as a pile-up',
      '10',
    )
    .option('--no-diagnoses', 'do not print diagnoses under the table')
    .addHelpText('after', EXAMPLES)
    .action(async (flags: ConnsFlags) =>
      (await import('./conns-actions.js')).runConnsCommand(flags),
    );
  await parseCommand(program, argv, 'gw conns');
}
