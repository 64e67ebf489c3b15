import { type Command, CommanderError } from 'commander';
import { PATH_NOTE } from './commands.js';
import { printError } from './report-error.js';

/**
 * Makes a commander program follow gw's contract: usage errors become one
 * line with GW_ERR_USAGE and exit 2, never a process.exit from inside
 * commander. Subcommands created afterwards inherit it. A command without a
 * parent ends its help, and its subcommands', with {@link PATH_NOTE}.
 */
export function configureCommand(command: Command, prefix: string): Command {
  if (command.parent === null) command.addHelpText('afterAll', `\n${PATH_NOTE}`);
  command.exitOverride();
  command.showHelpAfterError(false);
  command.configureOutput({
    outputError: (text, write) => {
      // One line, even for commander's "(Did you mean ...?)" suggestions.
      const message = text
        .replace(/^error: /, '')
        .trim()
        .replace(/\s*\n\s*/g, ' ');
      write(`${prefix}: ${message} [GW_ERR_USAGE]; see ${prefix} --help\n`);
    },
  });
  return command;
}

/** Parses and runs `argv` (after the command's name); errors become one line and an exit code. */
export async function parseCommand(
  program: Command,
  argv: readonly string[],
  prefix: string,
): Promise<void> {
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    printError(err, prefix);
  }
}

/**
 * Resolves on the first SIGINT or SIGTERM; a second one of either exits at
 * once, as the shell reports a process a signal ended (128 + its number:
 * 130 for SIGINT, 143 for SIGTERM).
 */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (process.stdout.isTTY) process.stdout.write('\n'); // after the terminal's ^C
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve(signal);
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  });
}
