/**
 * One reading of the socket tables, from source to findings: read (live
 * /proc or a snapshot), parse, name users, resolve owners where needed,
 * filter, diagnose. An edge: it calls the readers and the owner scan, and
 * hands everything else to the pure modules.
 *
 * {@link scanSockets} visits the sockets one by one without keeping them,
 * which is what `--json` and `--summary` use on tables of tens of thousands
 * of sockets; {@link collectView} keeps them all, for the table and watch.
 */
import type { Finding } from './diagnose.js';
import { socketFilter } from './filters.js';
import type { ConnsOptions } from './options.js';
import { scanProcNet, type MalformedLine, type Triage } from './parse-proc-net.js';
import { attachOwners, scanOwners, type OwnerMap, type ProcFs } from './process-map.js';
import type { Counters } from './proc-text.js';
import {
  readLiveSnapshot,
  readSavedSnapshot,
  type Snapshot,
  type SocketTable,
  tableNames,
  type TablePrefetch,
} from './read-proc.js';
import type { TcpState } from './states.js';
import type { ConnSocket, Family, Proto } from './types.js';

/** Where live data comes from; tests point it elsewhere. */
export interface Sources {
  /** Normally /proc (GW_PROC_ROOT overrides it). */
  procRoot: string;
  platform: NodeJS.Platform;
  procFs?: ProcFs;
  /** Tables already being copied (read-parallel.ts); used by the first reading only. */
  prefetch?: TablePrefetch;
}

/** What a scan learnt besides the sockets it visited. */
export interface Scan {
  snapshot: Snapshot;
  /** Ports with a TCP LISTEN socket, over the whole (unfiltered) table. */
  listeningPorts: Set<number>;
  malformed: { source: string; lines: MalformedLine[] }[];
  /** The owner scan, when one ran. */
  owners?: OwnerMap;
}

export interface View extends Scan {
  /** The sockets the filters let through. */
  shown: ConnSocket[];
  findings: Finding[];
}

function ownerScanner(sources: Sources): (wanted?: ReadonlySet<number>) => OwnerMap {
  return (wanted) =>
    scanOwners({
      procRoot: sources.procRoot,
      ...(wanted === undefined ? {} : { wanted }),
      ...(sources.procFs === undefined ? {} : { fs: sources.procFs }),
    });
}

/**
 * For callers that only count most sockets (the summary): `needs(state)`
 * says which states they must see; the others are counted with `count`
 * without being parsed beyond their state.
 */
export interface Counting {
  needs: (state: TcpState) => boolean;
  count: (state: TcpState, proto: Proto, family: Family) => void;
}

/** Counting applies when the filters look at nothing but the state and the family. */
function triageFor(
  options: ConnsOptions,
  counting: Counting | undefined,
  proto: Proto,
  family: Family,
): Triage | undefined {
  const keys = Object.keys(options.filter);
  if (
    counting === undefined ||
    options.processes ||
    keys.some((k) => k !== 'states' && k !== 'families')
  ) {
    return undefined;
  }
  const states = options.filter.states;
  return {
    decide: (state) =>
      // TCP listeners are always parsed: listeningPorts covers the whole table, so that
      // the summary and diagnoses can tell servers from clients whatever --state shows.
      state === 'LISTEN' && proto === 'tcp'
        ? 'parse'
        : states !== undefined && !states.has(state)
          ? 'skip'
          : counting.needs(state)
            ? 'parse'
            : 'count',
    count: (state) => counting.count(state, proto, family),
  };
}

/**
 * Reads the tables once and calls `visit` for every socket that passes the
 * filters, with its user name and (with `-p`) its owners attached. With
 * `counting`, sockets in states it does not need are counted, not visited.
 */
export async function scanSockets(
  options: ConnsOptions,
  sources: Sources,
  visit: (s: ConnSocket) => void,
  counting?: Counting,
): Promise<Scan> {
  const choice = { protos: options.protos, families: options.families };
  const prefetch = sources.prefetch;
  delete sources.prefetch; // a later reading (watch) must read afresh
  const snapshot =
    options.from === undefined
      ? readLiveSnapshot(choice, sources.procRoot, sources.platform, prefetch)
      : readSavedSnapshot(options.from, choice);
  const owners =
    options.processes && snapshot.origin === 'live' ? ownerScanner(sources)() : undefined;
  const keep = Object.keys(options.filter).length > 0 ? socketFilter(options.filter) : undefined;
  const { users } = snapshot;
  const listeningPorts = new Set<number>();
  const malformed: Scan['malformed'] = [];
  const onSocket = (s: ConnSocket): void => {
    if (s.state === 'LISTEN' && s.proto === 'tcp') listeningPorts.add(s.local.port);
    const user = users.get(s.uid);
    if (user !== undefined) s.user = user;
    if (owners !== undefined && s.inode !== 0) attachOwners([s], owners);
    if (keep === undefined || keep(s)) visit(s);
  };
  const scanTable = async (
    table: Omit<SocketTable, 'text'>,
    pieces: Iterable<string> | AsyncIterable<string>,
  ): Promise<void> => {
    const triage = triageFor(options, counting, table.proto, table.family);
    const position = { line: 0 };
    const bad: MalformedLine[] = [];
    for await (const text of pieces) {
      for (const line of scanProcNet(text, table.proto, table.family, onSocket, triage, position)) {
        bad.push(line);
      }
    }
    if (bad.length > 0) malformed.push({ source: table.source, lines: bad });
  };
  // In the order asked for; big live tables are scanned piece by piece as their copies grow.
  for (const { name } of tableNames(choice)) {
    const table = snapshot.tables.find((t) => t.name === name);
    const pending = snapshot.pending?.get(name);
    if (table !== undefined) await scanTable(table, [table.text]);
    else if (pending !== undefined) await scanTable(pending, pending.chunks());
  }
  return { snapshot, listeningPorts, malformed, ...(owners === undefined ? {} : { owners }) };
}

/**
 * The inodes whose owners the summary and diagnoses name when `-p` was not
 * given: CLOSE_WAIT sockets (when there are enough to matter) and listeners
 * with a backlog of unaccepted connections.
 */
function wantedInodes(sockets: readonly ConnSocket[], options: ConnsOptions): Set<number> {
  const closeWait = sockets.filter((s) => s.state === 'CLOSE_WAIT' && s.inode !== 0);
  const wanted = new Set<number>();
  if (options.summary || (options.diagnoses && closeWait.length >= options.pileup)) {
    for (const s of closeWait) wanted.add(s.inode);
  }
  if (options.diagnoses) {
    for (const s of sockets) {
      if (s.state === 'LISTEN' && s.recvQ > 0 && s.inode !== 0) wanted.add(s.inode);
    }
  }
  return wanted;
}

/**
 * Names the owners of the sockets the summary and diagnoses talk about
 * (`sockets` may be just those), when `-p` did not already name them all.
 */
export function resolveNamedOwners(
  scan: Scan,
  sockets: readonly ConnSocket[],
  options: ConnsOptions,
  sources: Sources,
): void {
  if (scan.owners !== undefined || scan.snapshot.origin !== 'live') return;
  const wanted = wantedInodes(sockets, options);
  if (wanted.size === 0) return;
  scan.owners = ownerScanner(sources)(wanted);
  attachOwners(sockets, scan.owners);
}

/**
 * The diagnoses for `sockets` (only CLOSE_WAIT, TIME_WAIT, SYN_RECV and
 * LISTEN ones matter); their module is loaded only when they are wanted.
 */
export async function findingsFor(
  scan: Scan,
  sockets: readonly ConnSocket[],
  options: ConnsOptions,
  previous?: { counters: Counters; atMs: number },
): Promise<Finding[]> {
  if (!options.diagnoses) return [];
  const { diagnose } = await import('./diagnose.js');
  const { snapshot } = scan;
  return diagnose(
    sockets,
    {
      ...(snapshot.portRange === undefined ? {} : { portRange: snapshot.portRange }),
      sysctls: snapshot.sysctls,
      counters: snapshot.counters,
      ...(previous === undefined ? {} : { previous }),
      nowMs: snapshot.takenAtMs,
      listeningPorts: scan.listeningPorts,
    },
    { pileup: options.pileup },
  );
}

/** True for the states the summary and diagnoses look at beyond counting them. */
export function isNotableState(state: TcpState): boolean {
  return (
    state === 'CLOSE_WAIT' || state === 'TIME_WAIT' || state === 'SYN_RECV' || state === 'LISTEN'
  );
}

/** True for the sockets the summary and diagnoses look at beyond counting them. */
export function isNotable(s: ConnSocket): boolean {
  return isNotableState(s.state);
}

/**
 * Reads and analyses once, keeping every shown socket. `previous` holds the
 * counters of the last reading (watch mode), so the diagnoses can tell
 * rising counters.
 */
export async function collectView(
  options: ConnsOptions,
  sources: Sources,
  previous?: { counters: Counters; atMs: number },
): Promise<View> {
  const shown: ConnSocket[] = [];
  const scan = await scanSockets(options, sources, (s) => shown.push(s));
  resolveNamedOwners(scan, shown, options, sources);
  return { ...scan, shown, findings: await findingsFor(scan, shown, options, previous) };
}
