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
}

/** What a command module exports. */
export interface CommandModule {
  /** Parses `argv` (after the command's name) and runs the command. */
  run: (argv: readonly string[]) => Promise<void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'tcp-echo',
    summary: 'framed echo server and client that make sticky and split packets (粘包/拆包) visible',
    example:
      'gw tcp-echo server --framing raw   # then: gw tcp-echo client --framing raw --burst 50',
    load: () => import('./tcp-echo.js'),
  },
];
