/**
 * The one catalogue of gw's errors.
 *
 * Every error gw raises on purpose is a {@link GwError} with a stable `code`
 * (`GW_ERR_*`), an `exitCode` for the CLI (2 bad usage or input, 1 runtime
 * failure) and an `httpStatus` for the gateway's listeners. They are made by
 * the factory functions below, never with `new GwError` scattered around, so
 * the codes stay consistent. Tests assert on `code`, never on message text.
 */
import { formatHostPort } from './format.js';

/** Exit code for bad usage or bad input (the user can fix the command line or the file). */
export const EXIT_USAGE = 2;
/** Exit code for a runtime failure (the network, a peer, the operating system). */
export const EXIT_RUNTIME = 1;

export type GwErrorCode =
  | 'GW_ERR_USAGE'
  | 'GW_ERR_INVALID_ARGUMENT'
  | 'GW_ERR_FRAME_TOO_LARGE'
  | 'GW_ERR_BAD_MESSAGE'
  | 'GW_ERR_PORT_IN_USE'
  | 'GW_ERR_LISTEN'
  | 'GW_ERR_CONNECT_REFUSED'
  | 'GW_ERR_CONNECT_TIMEOUT'
  | 'GW_ERR_CONNECTION_RESET'
  | 'GW_ERR_CONNECTION'
  | 'GW_ERR_ECHO_MISMATCH'
  | 'GW_ERR_ECHO_TIMEOUT'
  | 'GW_ERR_INTERNAL'
  // gateway config: loading and validation (exit 2)
  | 'GW_ERR_CONFIG'
  | 'GW_ERR_CONFIG_NOT_FOUND'
  // gateway config kept in etcd: the store did not answer (exit 1)
  | 'GW_ERR_CONFIG_UNREACHABLE'
  // gateway data plane: each maps to an HTTP status and a gRPC status at the listener
  | 'GW_ERR_ROUTE_NOT_FOUND'
  | 'GW_ERR_NO_TARGET'
  | 'GW_ERR_UPSTREAM_CONNECT'
  | 'GW_ERR_UPSTREAM_RESET'
  | 'GW_ERR_UPSTREAM_TIMEOUT'
  | 'GW_ERR_BODY_TOO_LARGE'
  | 'GW_ERR_HEADERS_TOO_LARGE'
  | 'GW_ERR_BAD_REQUEST'
  | 'GW_ERR_CLIENT_TIMEOUT'
  | 'GW_ERR_FORBIDDEN'
  | 'GW_ERR_UNAUTHENTICATED'
  | 'GW_ERR_RATE_LIMITED'
  | 'GW_ERR_CIRCUIT_OPEN'
  | 'GW_ERR_SHED'
  | 'GW_ERR_STORE_UNAVAILABLE'
  // gw explain
  | 'GW_ERR_CAPTURE_CORRUPT'
  | 'GW_ERR_INPUT_FILE'
  | 'GW_ERR_CAPTURE_UNSUPPORTED'
  // gw conns
  | 'GW_ERR_CONNS_UNSUPPORTED'
  | 'GW_ERR_CONNS_SNAPSHOT'
  | 'GW_ERR_CONNS_UNKNOWN_STATE'
  | 'GW_ERR_CONNS_READ';

export interface GwErrorOptions {
  /** What to do about it, shown after the message. */
  hint?: string;
  /** The underlying error, if any (kept as `cause`). */
  cause?: unknown;
  exitCode?: number;
  httpStatus?: number;
  /** The gRPC status a gateway answer carries; by default from the code (`grpcStatusOf`). */
  grpcStatus?: number;
}

/**
 * The gRPC status (grpc/doc/statuscodes.md) for a gateway error code: a timeout
 * is DEADLINE_EXCEEDED (4), no route UNIMPLEMENTED (12), a malformed request
 * INTERNAL (13, as gRPC maps HTTP 400), forbidden PERMISSION_DENIED (7), anything else UNAVAILABLE (14).
 */
export function grpcStatusOf(code: GwErrorCode): number {
  switch (code) {
    case 'GW_ERR_UPSTREAM_TIMEOUT':
      return 4;
    case 'GW_ERR_ROUTE_NOT_FOUND':
      return 12;
    case 'GW_ERR_BAD_REQUEST':
      return 13;
    case 'GW_ERR_FORBIDDEN':
      return 7;
    case 'GW_ERR_UNAUTHENTICATED':
      return 16;
    case 'GW_ERR_RATE_LIMITED':
      return 8;
    default:
      return 14;
  }
}

/** An error with a stable code, an exit code, an HTTP status and a gRPC status. */
export class GwError extends Error {
  readonly code: GwErrorCode;
  readonly exitCode: number;
  readonly httpStatus: number;
  readonly grpcStatus: number;
  readonly hint: string | undefined;

  constructor(code: GwErrorCode, message: string, options: GwErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'GwError';
    this.code = code;
    this.exitCode = options.exitCode ?? EXIT_RUNTIME;
    this.httpStatus = options.httpStatus ?? 500;
    this.grpcStatus = options.grpcStatus ?? grpcStatusOf(code);
    this.hint = options.hint;
  }
}

/** True when `err` is a GwError, optionally with the given code. */
export function isGwError(err: unknown, code?: GwErrorCode): err is GwError {
  return err instanceof GwError && (code === undefined || err.code === code);
}

/** Bad command-line usage: unknown flag, missing argument. Exit 2. */
export function usageError(message: string, hint?: string, cause?: unknown): GwError {
  return new GwError('GW_ERR_USAGE', message, withHint(hint, cause, EXIT_USAGE, 400));
}

/** A flag or field has a value outside what is allowed. Exit 2. */
export function invalidArgument(
  name: string,
  value: unknown,
  allowed: string,
  cause?: unknown,
): GwError {
  return new GwError(
    'GW_ERR_INVALID_ARGUMENT',
    `invalid ${name} ${JSON.stringify(value)}: ${allowed}`,
    withHint(undefined, cause, EXIT_USAGE, 400),
  );
}

/**
 * A frame announced (or grew) beyond the configured maximum. Raised as soon as
 * the header says so, or as soon as `maxFrameBytes` bytes arrived without a
 * delimiter, so the oversized frame is never buffered whole.
 */
export function frameTooLarge(
  sizeBytes: number,
  maxFrameBytes: number,
  what: string,
  likelyCause?: string,
): GwError {
  const raise = 'raise --max-frame-bytes if such frames are legitimate';
  return new GwError(
    'GW_ERR_FRAME_TOO_LARGE',
    `${what}: ${sizeBytes} bytes exceeds the limit of ${maxFrameBytes} bytes`,
    { hint: likelyCause === undefined ? raise : `${likelyCause}; ${raise}`, exitCode: EXIT_USAGE },
  );
}

/** A message cannot be framed as asked (it holds the delimiter, or does not fit the header). */
export function badMessage(message: string, hint?: string): GwError {
  return new GwError('GW_ERR_BAD_MESSAGE', message, withHint(hint, undefined, EXIT_USAGE, 400));
}

/** The address is taken by another socket (EADDRINUSE). Exit 1. */
export function portInUse(host: string, port: number, cause?: unknown): GwError {
  return new GwError(
    'GW_ERR_PORT_IN_USE',
    `cannot listen on ${formatHostPort(host, port)}: the address is already in use`,
    withHint(
      `stop the process holding it (ss -ltnp 'sport = :${port}' shows which) or pick another --port`,
      cause,
      EXIT_RUNTIME,
      500,
    ),
  );
}

/** Any other failure to listen (EACCES on a low port, an address not on this host). */
export function listenFailed(host: string, port: number, cause: unknown): GwError {
  const reason = errnoOf(cause) ?? 'unknown error';
  const hint =
    reason === 'EACCES'
      ? 'ports below 1024 need privileges; pick a port above 1023'
      : reason === 'EADDRNOTAVAIL'
        ? 'that address is not on this machine; use 127.0.0.1, ::1 or 0.0.0.0'
        : undefined;
  return new GwError(
    'GW_ERR_LISTEN',
    `cannot listen on ${formatHostPort(host, port)}: ${reason}`,
    withHint(hint, cause, EXIT_RUNTIME, 500),
  );
}

/** Turns a socket error seen while connecting or talking to a peer into a GwError. */
export function connectionError(host: string, port: number, cause: unknown): GwError {
  const where = formatHostPort(host, port);
  switch (errnoOf(cause)) {
    case 'ECONNREFUSED':
      return new GwError(
        'GW_ERR_CONNECT_REFUSED',
        `cannot connect to ${where}: connection refused (nothing listens there)`,
        withHint('start the server first, or check --host and --port', cause, EXIT_RUNTIME, 502),
      );
    case 'ECONNRESET':
    case 'EPIPE':
      return new GwError(
        'GW_ERR_CONNECTION_RESET',
        `connection to ${where} was reset by the peer`,
        withHint('the peer aborted the connection; check its log', cause, EXIT_RUNTIME, 502),
      );
    case 'ETIMEDOUT':
      return new GwError(
        'GW_ERR_CONNECT_TIMEOUT',
        `connecting to ${where} timed out`,
        withHint('check that the host is reachable', cause, EXIT_RUNTIME, 504),
      );
    default:
      return new GwError(
        'GW_ERR_CONNECTION',
        `connection to ${where} failed: ${describe(cause)}`,
        withHint(undefined, cause, EXIT_RUNTIME, 502),
      );
  }
}

/**
 * What kind of problem a {@link ConfigIssue} is: stable names, for tests and
 * `--json`, like error codes. `syntax` the YAML itself; `missing` a required
 * setting; `invalid` a value of the wrong type, range or form;
 * `unknown-setting` a key gw does not know (a typo?); `not-supported-yet` a
 * setting of a later release; `misplaced` a setting the listener's protocol
 * does not take; `conflict` settings that contradict each other; `duplicate`
 * a name, address or target given twice; `reference` a name that is not
 * defined; `file` a named file that is missing or unreadable.
 */
export type ConfigIssueKind =
  | 'syntax'
  | 'missing'
  | 'invalid'
  | 'unknown-setting'
  | 'not-supported-yet'
  | 'misplaced'
  | 'conflict'
  | 'duplicate'
  | 'reference'
  | 'file';

/**
 * One problem found in a gateway config, located by the field's path in the
 * document and, when the YAML text is known, by line and column.
 */
export interface ConfigIssue {
  readonly kind: ConfigIssueKind;
  /** `listeners[0].routes[2].match.pathRegex`; empty for the document as a whole. */
  readonly path: string;
  /** What is wrong, e.g. `port out of range`. */
  readonly problem: string;
  /** The offending value, already rendered short (`"127.0.0.1:70000"`); absent when missing. */
  readonly got?: string;
  /** What would be accepted, e.g. `host:port or [v6]:port with port 1–65535`. */
  readonly allowed?: string;
  /** 1-based line of the offending node, when the YAML text is known. */
  readonly line?: number;
  /** 1-based column of the offending node, when the YAML text is known. */
  readonly column?: number;
}

/** A {@link GwError} for a bad config that carries every problem found, for tests and `--json`. */
export class ConfigError extends GwError {
  /** Where the config came from (a path, or a name like `<embedded>`). */
  readonly source: string;
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[], message: string, hint: string) {
    super('GW_ERR_CONFIG', message, { hint, exitCode: EXIT_USAGE, httpStatus: 500 });
    this.source = source;
    this.issues = issues;
  }
}

/** How many config problems a message lists; `ConfigError.issues` keeps them all. */
export const MAX_LISTED_CONFIG_ISSUES = 50;

/**
 * A gateway config with one or more problems. The message lists them, one
 * per line, as `FILE:LINE:COL: PATH: problem (got VALUE; allowed ...)` (the
 * position only when known), so one run shows every mistake; past
 * {@link MAX_LISTED_CONFIG_ISSUES} it ends with `… and N more`, so a
 * generated config with 100,000 bad entries prints a screenful, not 43 MB.
 * Exit 2.
 */
export function configError(source: string, issues: readonly ConfigIssue[]): ConfigError {
  const listed = issues.slice(0, MAX_LISTED_CONFIG_ISSUES);
  const lines = listed.map((issue) => `  ${formatConfigIssue(source, issue)}`);
  const more = issues.length - listed.length;
  if (more > 0) lines.push(`  … and ${more.toLocaleString('en-US')} more`);
  const count =
    issues.length === 1 ? '1 problem' : `${issues.length.toLocaleString('en-US')} problems`;
  return new ConfigError(
    source,
    issues,
    `invalid config ${source} (${count}):\n${lines.join('\n')}`,
    `fix the fields listed, then check again with gw proxy --check --config ${source}`,
  );
}

/** One issue as one line: `FILE:LINE:COL: PATH: problem (got VALUE; allowed ...)`. */
export function formatConfigIssue(source: string, issue: ConfigIssue): string {
  const where = issue.line === undefined ? '' : `${source}:${issue.line}:${issue.column ?? 1}: `;
  const path = issue.path === '' ? '' : `${issue.path}: `;
  const details = [
    ...(issue.got === undefined ? [] : [`got ${issue.got}`]),
    ...(issue.allowed === undefined ? [] : [`allowed ${issue.allowed}`]),
  ];
  const tail = details.length === 0 ? '' : ` (${details.join('; ')})`;
  return `${where}${path}${issue.problem}${tail}`;
}

/** No config file where one was expected (ENOENT). Exit 2. */
export function configNotFound(path: string, cause?: unknown): GwError {
  return new GwError(
    'GW_ERR_CONFIG_NOT_FOUND',
    `no config at ${path}`,
    withHint('write one (see gw proxy --help) or pass --config FILE', cause, EXIT_USAGE, 500),
  );
}

/**
 * No config under a store's key (an etcd key never published, or deleted):
 * `problem` says which, `hint` how to publish one. Exit 2.
 */
export function configKeyMissing(label: string, problem: string, hint: string): GwError {
  return new GwError(
    'GW_ERR_CONFIG_NOT_FOUND',
    `no config at ${label}: ${problem}`,
    withHint(hint, undefined, EXIT_USAGE, 500),
  );
}

/**
 * The store that holds the config (etcd) did not answer: a runtime failure,
 * not a mistake in the config. Exit 1.
 */
export function configUnreachable(label: string, cause: unknown, hint: string): GwError {
  const reason = describe(cause).split('\n')[0] ?? '';
  return new GwError(
    'GW_ERR_CONFIG_UNREACHABLE',
    `cannot read config ${label}: ${reason}`,
    withHint(hint, cause, EXIT_RUNTIME, 500),
  );
}

/** A config file that exists but cannot be read (permissions, a directory). Exit 2. */
export function configUnreadable(path: string, cause: unknown): GwError {
  const reason = errnoOf(cause);
  const hint =
    reason === 'EISDIR'
      ? 'that is a directory; pass the config file inside it with --config FILE'
      : reason === 'EACCES' || reason === 'EPERM'
        ? `let this user read it (ls -l ${path}), or pass another --config FILE`
        : 'check the path, or pass another --config FILE';
  return new GwError(
    'GW_ERR_CONFIG',
    `cannot read config ${path}: ${reason ?? describe(cause)}`,
    withHint(hint, cause, EXIT_USAGE, 500),
  );
}

/** Anything that is not a GwError becomes one, so the CLI has one shape to print. */
export function toGwError(err: unknown): GwError {
  if (err instanceof GwError) return err;
  return new GwError('GW_ERR_INTERNAL', `unexpected error: ${describe(err)}`, {
    hint: 'this is a bug in gw; please report it with the command you ran',
    cause: err,
  });
}

/** The errno name (`ECONNREFUSED`) of a Node system error, if it has one. */
export function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

function withHint(
  hint: string | undefined,
  cause: unknown,
  exitCode: number,
  httpStatus: number,
): GwErrorOptions {
  const options: GwErrorOptions = { exitCode, httpStatus };
  if (hint !== undefined) options.hint = hint;
  if (cause !== undefined) options.cause = cause;
  return options;
}

// --- Gateway data plane. Middleware and upstreams throw these; only listeners
// turn them into wire form (HTTP status + x-gw-error, gRPC status, TCP reset).

/** No route of the listener matches the request. HTTP 404. */
export function routeNotFound(listener: string): GwError {
  return new GwError('GW_ERR_ROUTE_NOT_FOUND', `no route of listener ${listener} matches`, {
    httpStatus: 404,
  });
}

/** The upstream has no target to offer (all excluded, down, or none configured). HTTP 503. */
export function noTarget(upstream: string, cause?: unknown): GwError {
  return new GwError(
    'GW_ERR_NO_TARGET',
    `upstream ${upstream} has no available target`,
    withHint('check the targets of the upstream and that they are up', cause, EXIT_RUNTIME, 503),
  );
}

/** The connection to a target could not be made (refused, unreachable). HTTP 502. */
export function upstreamConnect(target: string, cause?: unknown): GwError {
  return new GwError(
    'GW_ERR_UPSTREAM_CONNECT',
    `cannot connect to upstream target ${target}: ${errnoOf(cause) ?? describe(cause)}`,
    withHint(undefined, cause, EXIT_RUNTIME, 502),
  );
}

/** The target reset or closed the connection before answering completely. HTTP 502. */
export function upstreamReset(target: string, cause?: unknown): GwError {
  return new GwError(
    'GW_ERR_UPSTREAM_RESET',
    `upstream target ${target} closed the connection: ${errnoOf(cause) ?? describe(cause)}`,
    withHint(undefined, cause, EXIT_RUNTIME, 502),
  );
}

/** A connect, response-header or idle timeout towards a target expired. HTTP 504. */
export function upstreamTimeout(
  target: string,
  phase: 'connect' | 'header' | 'idle' | 'deadline',
  timeoutMs: number,
  cause?: unknown,
): GwError {
  return new GwError(
    'GW_ERR_UPSTREAM_TIMEOUT',
    `upstream target ${target}: ${phase} timeout after ${timeoutMs} ms`,
    withHint(undefined, cause, EXIT_RUNTIME, 504),
  );
}

/** The client's body exceeds the listener's limit. HTTP 413. */
export function bodyTooLarge(limitBytes: number): GwError {
  return new GwError(
    'GW_ERR_BODY_TOO_LARGE',
    `request body exceeds the limit of ${limitBytes} bytes`,
    { httpStatus: 413, exitCode: EXIT_USAGE },
  );
}

/** The client's request head exceeds the listener's limit. HTTP 431. */
export function headersTooLarge(limitBytes: number): GwError {
  return new GwError(
    'GW_ERR_HEADERS_TOO_LARGE',
    `request headers exceed the limit of ${limitBytes} bytes`,
    { httpStatus: 431, exitCode: EXIT_USAGE },
  );
}

/**
 * A malformed request (bad syntax, Content-Length/Transfer-Encoding conflict). HTTP 400, or
 * 501 (a transfer coding the gateway does not implement) or 505 (an HTTP version it does not speak).
 */
export function badRequest(
  reason: string,
  cause?: unknown,
  httpStatus = 400,
  grpcStatus?: number,
): GwError {
  const options = withHint(undefined, cause, EXIT_USAGE, httpStatus);
  if (grpcStatus !== undefined) options.grpcStatus = grpcStatus;
  return new GwError('GW_ERR_BAD_REQUEST', `bad request: ${reason}`, options);
}

/** The client did not send a complete request head in time. HTTP 408. */
export function clientTimeout(timeoutMs: number): GwError {
  return new GwError(
    'GW_ERR_CLIENT_TIMEOUT',
    `the request head was not complete within ${timeoutMs} ms`,
    { httpStatus: 408, exitCode: EXIT_USAGE },
  );
}

/**
 * The client's request body went silent for longer than the listener's `bodyMs`, or came slower
 * than its minimum rate (`reason` says which). HTTP 408.
 */
export function clientBodyTimeout(reason: string): GwError {
  return new GwError('GW_ERR_CLIENT_TIMEOUT', `the request body was too slow: ${reason}`, {
    httpStatus: 408,
    exitCode: EXIT_USAGE,
  });
}

/**
 * The client may not use this route or listener (its address is outside the
 * allowed ones). HTTP 403; gRPC PERMISSION_DENIED (7); a TCP connection is reset.
 */
export function forbidden(reason: string): GwError {
  return new GwError('GW_ERR_FORBIDDEN', `forbidden: ${reason}`, {
    httpStatus: 403,
    exitCode: EXIT_USAGE,
  });
}

/**
 * The request carries no credentials, or ones that do not hold (a bad key, an
 * expired token). HTTP 401 (the listener adds `WWW-Authenticate`); gRPC
 * UNAUTHENTICATED (16). The reason is for the log; it never names a credential.
 */
export function unauthenticated(reason: string): GwError {
  return new GwError('GW_ERR_UNAUTHENTICATED', `unauthenticated: ${reason}`, {
    httpStatus: 401,
    exitCode: EXIT_USAGE,
  });
}

/** Over the route's (or the consumer's) rate limit. HTTP 429; gRPC RESOURCE_EXHAUSTED (8). */
export function rateLimited(reason: string): GwError {
  return new GwError('GW_ERR_RATE_LIMITED', `rate limited: ${reason}`, {
    httpStatus: 429,
    exitCode: EXIT_RUNTIME,
  });
}

/**
 * The upstream's circuit is open: answered at once without touching it. HTTP
 * 503; gRPC UNAVAILABLE (14).
 */
export function circuitOpen(upstream: string, reason: string): GwError {
  return new GwError('GW_ERR_CIRCUIT_OPEN', `upstream ${upstream}: circuit open (${reason})`, {
    httpStatus: 503,
    exitCode: EXIT_RUNTIME,
  });
}

/** Shed under overload (a `normal` route first). HTTP 503; gRPC UNAVAILABLE (14). */
export function shed(reason: string): GwError {
  return new GwError('GW_ERR_SHED', `shed under load: ${reason}`, {
    httpStatus: 503,
    exitCode: EXIT_RUNTIME,
  });
}

/**
 * A rate limit kept in the shared store (Redis) could not be checked (the
 * store is unreachable or too slow) and the store's `failureMode` is
 * `closed`: refused rather than admitted unchecked. HTTP 503; gRPC
 * UNAVAILABLE (14).
 */
export function storeUnavailable(store: string, reason: string): GwError {
  return new GwError(
    'GW_ERR_STORE_UNAVAILABLE',
    `rate-limit store ${store} unavailable (${reason}); refused (failureMode closed)`,
    { httpStatus: 503, exitCode: EXIT_RUNTIME },
  );
}

// --- gw explain: captures.

/**
 * A capture file that is cut short or corrupt: says how many packets were
 * read and at which byte it broke. Exit 2 (bad input).
 */
export function captureCorrupt(
  source: string,
  packets: number,
  offset: number,
  reason: string,
): GwError {
  return new GwError(
    'GW_ERR_CAPTURE_CORRUPT',
    `${source}: ${reason} at byte ${offset}, after ${packets} packets`,
    {
      hint: 'the file may be truncated (a capture still being written?) or not a capture; the packets before it were fine',
      exitCode: EXIT_USAGE,
      httpStatus: 400,
    },
  );
}

/** A capture in a format or with a link type gw explain does not read. Exit 2. */
export function captureUnsupported(source: string, what: string, hint: string): GwError {
  return new GwError('GW_ERR_CAPTURE_UNSUPPORTED', `${source}: ${what}`, {
    hint,
    exitCode: EXIT_USAGE,
    httpStatus: 400,
  });
}

// --- gw conns: socket tables from /proc/net.

/**
 * This system has no /proc/net socket tables to read (not Linux, or /proc is
 * not mounted). Exit 1: nothing the command line can fix here.
 */
export function connsUnsupported(what: string, cause?: unknown): GwError {
  return new GwError(
    'GW_ERR_CONNS_UNSUPPORTED',
    `no socket tables to read: ${what}`,
    withHint(
      'run it on Linux, or copy the tables from a Linux machine (cat /proc/net/tcp > DIR/tcp, also tcp6, udp, udp6, netstat) and read them with gw conns --from DIR',
      cause,
      EXIT_RUNTIME,
      500,
    ),
  );
}

/**
 * A socket table that is there but cannot be read (permissions, an I/O
 * error, a directory in its place), or whose copy on another core failed
 * after some of it had been shown. Exit 1.
 */
export function connsReadFailed(
  source: string,
  problem: string,
  hint = 'run gw conns again; gw copies big tables into /dev/shm (or TMPDIR), so check that it has room',
  cause?: unknown,
): GwError {
  return new GwError(
    'GW_ERR_CONNS_READ',
    `cannot read ${source}: ${problem}`,
    withHint(hint, cause, EXIT_RUNTIME, 500),
  );
}

/** A `--from DIR` snapshot that is missing or holds no socket table. Exit 2. */
export function connsSnapshot(dir: string, problem: string, cause?: unknown): GwError {
  return new GwError(
    'GW_ERR_CONNS_SNAPSHOT',
    `cannot read the snapshot in ${dir}: ${problem}`,
    withHint(
      'a snapshot is a directory holding copies of /proc/net/tcp, tcp6, udp or udp6 under those names (cat /proc/net/tcp > DIR/tcp)',
      cause,
      EXIT_USAGE,
      400,
    ),
  );
}

/** A `--state` value that is no TCP state, ss state name or ss state group. Exit 2. */
export function unknownState(value: string, valid: readonly string[]): GwError {
  return new GwError(
    'GW_ERR_CONNS_UNKNOWN_STATE',
    `unknown TCP state ${JSON.stringify(value)}`,
    withHint(
      `use one or more of ${valid.join(', ')} (any case, - or _), comma-separated or repeated`,
      undefined,
      EXIT_USAGE,
      400,
    ),
  );
}

/** An input file that cannot be opened (missing, a directory, no permission). Exit 2. */
export function inputFileError(path: string, cause: unknown): GwError {
  const errno = errnoOf(cause);
  const what =
    errno === 'ENOENT'
      ? 'no such file'
      : errno === 'EISDIR'
        ? 'is a directory, not a file'
        : errno === 'EACCES'
          ? 'permission denied'
          : describe(cause);
  return new GwError('GW_ERR_INPUT_FILE', `cannot read ${path}: ${what}`, {
    hint: 'check the path; use - to read standard input',
    cause,
    exitCode: EXIT_USAGE,
    httpStatus: 400,
  });
}

/**
 * What a `gw proxy --workers` worker reported over IPC when it could not
 * start its first config (an address in use, say; the primary stops and
 * exits with its code) or put a new one in force: the worker's own error,
 * under the worker's number.
 */
export function workerFailed(
  worker: number,
  failure: {
    readonly code: string;
    readonly message: string;
    readonly hint?: string | undefined;
    readonly exitCode: number;
  },
): GwError {
  return new GwError(failure.code as GwErrorCode, `worker ${worker}: ${failure.message}`, {
    ...(failure.hint === undefined ? {} : { hint: failure.hint }),
    exitCode: failure.exitCode,
  });
}
