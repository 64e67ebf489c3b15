/**
 * Starts reading big socket tables before the command line is parsed.
 *
 * A second thread takes about 17 ms to start, and loading the option parser
 * and the rest of `gw conns` takes about as long; starting the thread first
 * lets both happen at once. The raw arguments are looked at only for what
 * picks the tables (`-t`, `-u`, `-4`, `-6` and their long forms); anything
 * this does not recognise for certain (`--from`, `--watch`, help, an
 * unknown flag) means no early start, and the tables are read as usual once
 * the options are parsed. Pure but for the start itself.
 */
import { tableChoiceOf, type ConnsFlags } from './options.js';
import { prefetchTablesEarly } from './read-parallel.js';
import type { TableChoice } from './read-proc.js';

/** Long options that take a value (the next argument, or `--opt=value`). */
const WITH_VALUE = new Set([
  '--state',
  '--port',
  '--sport',
  '--dport',
  '--local',
  '--remote',
  '--pid',
  '--count',
  '--lang',
  '--pileup',
]);

/** Flags that change nothing about which tables are read. */
const NEUTRAL_LONG = new Set([
  '--all',
  '--numeric',
  '--listen',
  '--process',
  '--extended',
  '--timers',
  '--summary',
  '--json',
  '--no-diagnoses',
]);

/** Short flags that take no value, and what the table-picking ones set. */
const SHORT: Readonly<Record<string, keyof TableFlags | null>> = {
  t: 'tcp',
  u: 'udp',
  '4': 'ipv4',
  '6': 'ipv6',
  a: null,
  n: null,
  l: null,
  p: null,
  e: null,
  o: null,
  s: null,
};

const LONG: Readonly<Record<string, keyof TableFlags>> = {
  '--tcp': 'tcp',
  '--udp': 'udp',
  '--ipv4': 'ipv4',
  '--ipv6': 'ipv6',
};

type TableFlags = Pick<ConnsFlags, 'tcp' | 'udp' | 'ipv4' | 'ipv6'>;

/**
 * The tables `gw conns ARGS` will read live, when the arguments say so for
 * certain; undefined otherwise (help, a snapshot, watch mode, anything not
 * recognised).
 */
export function tablesFromArgs(args: readonly string[]): TableChoice | undefined {
  const flags: TableFlags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg.startsWith('--')) {
      const name = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
      const long = LONG[name];
      if (long !== undefined && name === arg) flags[long] = true;
      else if (WITH_VALUE.has(name)) {
        if (name === arg) i++;
      } else if (!NEUTRAL_LONG.has(arg)) return undefined;
    } else if (arg.startsWith('-') && arg.length > 1) {
      for (const letter of arg.slice(1)) {
        const short = SHORT[letter];
        if (short === undefined) return undefined;
        if (short !== null) flags[short] = true;
      }
    } else return undefined;
  }
  return tableChoiceOf(flags);
}

/** Starts reading the tables `args` pick, when it can tell (see {@link tablesFromArgs}). */
export function startEarlyReads(args: readonly string[], procRoot: string): void {
  if (process.platform !== 'linux') return;
  const choice = tablesFromArgs(args);
  if (choice !== undefined) prefetchTablesEarly(choice, procRoot);
}
