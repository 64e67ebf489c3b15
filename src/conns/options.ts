/**
 * `gw conns` flags, validated into the options the command runs with. Every
 * problem is an exit-2 error naming the flag. Pure.
 */
import { invalidArgument, usageError } from '../shared/errors.js';
import type { Lang } from './explain-findings.js';
import { parseAddresses, parsePids, parsePorts, type ConnsFilter } from './filters.js';
import { parseStates } from './states.js';
import type { Family, Proto } from './types.js';

/** The flags as commander hands them over (strings, unvalidated). */
export interface ConnsFlags {
  tcp?: boolean;
  udp?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
  state?: string[];
  port?: string[];
  sport?: string[];
  dport?: string[];
  local?: string[];
  remote?: string[];
  listen?: boolean;
  process?: boolean;
  pid?: string[];
  extended?: boolean;
  summary?: boolean;
  json?: boolean;
  watch?: string | boolean;
  /** netstat's -c: `--watch 1`. */
  continuous?: boolean;
  count?: string;
  from?: string;
  lang?: string;
  pileup?: string;
  diagnoses?: boolean;
}

export interface ConnsOptions {
  protos: Proto[];
  families: Family[];
  filter: ConnsFilter;
  /** Resolve every socket's owner (`-p`, or implied by `--pid`). */
  processes: boolean;
  extended: boolean;
  summary: boolean;
  json: boolean;
  /** Refresh interval in milliseconds, when watching. */
  watchMs?: number;
  /** Stop watching after this many refreshes. */
  count?: number;
  from?: string;
  lang: Lang;
  pileup: number;
  diagnoses: boolean;
}

/** Default of `--pileup`: sockets in one state for one owner or listener that make a pile-up. */
export const DEFAULT_PILEUP = 10;

/** Default `--watch` interval. */
export const DEFAULT_WATCH_SECONDS = 2;

function watchMs(value: string | boolean | undefined): number | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return DEFAULT_WATCH_SECONDS * 1000;
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds < 0.1 || seconds > 3600) {
    throw invalidArgument('--watch', value, 'expected seconds between refreshes, 0.1 to 3600');
  }
  return Math.round(seconds * 1000);
}

function wholeNumber(
  flag: string,
  value: string | undefined,
  fallback: number,
  min: number,
): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min) {
    throw invalidArgument(flag, value, `expected a whole number, at least ${min}`);
  }
  return Number(value);
}

function checkConflicts(flags: ConnsFlags): void {
  const live = (flag: string) =>
    usageError(
      `${flag} cannot be used with --from`,
      "owners and live refreshes need this machine's /proc; a snapshot has neither",
    );
  if (flags.from !== undefined) {
    if (flags.process === true) throw live('-p/--process');
    if (flags.pid !== undefined && flags.pid.length > 0) throw live('--pid');
    if (flags.watch !== undefined && flags.watch !== false) throw live('--watch');
  }
  if (flags.listen === true && flags.state !== undefined && flags.state.length > 0) {
    throw usageError(
      '--listen and --state cannot be combined',
      'use --state listen, or --listen alone',
    );
  }
  if (flags.count !== undefined && (flags.watch === undefined || flags.watch === false)) {
    throw usageError('--count needs --watch', 'e.g. gw conns --watch 1 --count 10');
  }
}

function filterOf(flags: ConnsFlags, families: Family[]): ConnsFilter {
  const filter: ConnsFilter = {};
  const list = (v: string[] | undefined) => (v !== undefined && v.length > 0 ? v : undefined);
  const state = list(flags.state);
  if (state) filter.states = parseStates(state);
  const port = list(flags.port);
  if (port) filter.ports = parsePorts('--port', port);
  const sport = list(flags.sport);
  if (sport) filter.sports = parsePorts('--sport', sport);
  const dport = list(flags.dport);
  if (dport) filter.dports = parsePorts('--dport', dport);
  const local = list(flags.local);
  if (local) filter.local = parseAddresses('--local', local);
  const remote = list(flags.remote);
  if (remote) filter.remote = parseAddresses('--remote', remote);
  const pid = list(flags.pid);
  if (pid) filter.pids = parsePids(pid);
  if (flags.listen === true) filter.listen = true;
  if (families.length === 1) filter.families = new Set(families);
  return filter;
}

/** Validates `flags` into options; throws GW_ERR_USAGE / GW_ERR_INVALID_ARGUMENT (exit 2). */
export function connsOptions(given: ConnsFlags): ConnsOptions {
  const flags: ConnsFlags =
    given.continuous === true && (given.watch === undefined || given.watch === false)
      ? { ...given, watch: '1' }
      : given;
  checkConflicts(flags);
  const protos: Proto[] = [];
  if (flags.tcp === true || flags.udp !== true) protos.push('tcp');
  if (flags.udp === true) protos.push('udp');
  const families: Family[] =
    flags.ipv4 === true && flags.ipv6 !== true
      ? [4]
      : flags.ipv6 === true && flags.ipv4 !== true
        ? [6]
        : [4, 6];
  const lang = flags.lang ?? 'en';
  if (lang !== 'en' && lang !== 'zh') throw invalidArgument('--lang', lang, 'choose en or zh');
  const filter = filterOf(flags, families);
  const options: ConnsOptions = {
    protos,
    families,
    filter,
    processes: flags.process === true || filter.pids !== undefined,
    extended: flags.extended === true,
    summary: flags.summary === true,
    json: flags.json === true,
    lang,
    pileup: wholeNumber('--pileup', flags.pileup, DEFAULT_PILEUP, 1),
    diagnoses: flags.diagnoses !== false,
  };
  const interval = watchMs(flags.watch);
  if (interval !== undefined) options.watchMs = interval;
  if (flags.count !== undefined) options.count = wholeNumber('--count', flags.count, 1, 1);
  if (flags.from !== undefined) options.from = flags.from;
  return options;
}
