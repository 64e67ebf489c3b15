import { COMMANDS, PATH_NOTE } from './commands.js';
import { printError } from './report-error.js';

const VERSION = '0.1.0';

/**
 * gw's entry point. Dispatches to a command module loaded on demand, so
 * `gw --help` and each command load only what they use. Sets
 * `process.exitCode`; never calls `process.exit` while work is pending.
 */
export async function main(argv: readonly string[]): Promise<void> {
  // `gw explain cap.pcap | head`: a closed pipe ends the output, not in a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const [first, ...rest] = argv;
  try {
    const entry = COMMANDS.find((c) => c.name === first);
    if (entry) {
      await entry.early?.(rest);
      const mod = await entry.load();
      await mod.run(rest);
      return;
    }
    if (first === undefined) {
      // No command is bad usage, as for `gw backend` and `gw tcp-echo` without a subcommand
      // (commander's convention): the help goes to stderr and the exit code is 2.
      process.stderr.write(topLevelHelp());
      process.exitCode = 2;
      return;
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      const topic = first === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
      if (topic) {
        await (await topic.load()).run(['--help']);
        return;
      }
      process.stdout.write(topLevelHelp());
      return;
    }
    if (first === '--version' || first === '-V') {
      process.stdout.write(`${VERSION}\n`);
      return;
    }
    const known = COMMANDS.map((c) => c.name).join(', ');
    const what = first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}'`;
    process.stderr.write(`gw: ${what} [GW_ERR_USAGE]; commands: ${known}; see gw --help\n`);
    process.exitCode = 2;
  } catch (err) {
    printError(err);
  }
}

/** The top-level help: every command with its purpose and an example. */
export function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  const lines = [
    'Usage: gw <command> [options]',
    '',
    'A toolkit for learning and diagnosing networks.',
    '',
    'Commands:',
    ...COMMANDS.flatMap((c) => [
      `  ${c.name.padEnd(width)}${c.summary}`,
      `  ${' '.repeat(width)}e.g. ${c.example}`,
    ]),
    '',
    'Options:',
    "  -h, --help     show this help; gw <command> --help shows a command's options and examples",
    '  -V, --version  print the version',
    '',
    'Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input.',
    '',
    PATH_NOTE,
    '',
  ];
  return lines.join('\n');
}
