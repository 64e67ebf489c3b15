/**
 * The one catalogue of gw's errors.
 *
 * Every error gw raises on purpose is a {@link GwError} with a stable `code`
 * (`GW_ERR_*`), an `exitCode` for the CLI (2 bad usage or input, 1 runtime
 * failure) and an `httpStatus` for the gateway's listeners. They are made by
 * the factory functions below, never with `new GwError` scattered around, so
 * the codes stay consistent. Tests assert on `code`, never on message text.
 */

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
  | 'GW_ERR_INTERNAL';

export interface GwErrorOptions {
  /** What to do about it, shown after the message. */
  hint?: string;
  /** The underlying error, if any (kept as `cause`). */
  cause?: unknown;
  exitCode?: number;
  httpStatus?: number;
}

/** An error with a stable code, an exit code and an HTTP status. */
export class GwError extends Error {
  readonly code: GwErrorCode;
  readonly exitCode: number;
  readonly httpStatus: number;
  readonly hint: string | undefined;

  constructor(code: GwErrorCode, message: string, options: GwErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'GwError';
    this.code = code;
    this.exitCode = options.exitCode ?? EXIT_RUNTIME;
    this.httpStatus = options.httpStatus ?? 500;
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
export function frameTooLarge(sizeBytes: number, maxFrameBytes: number, what: string): GwError {
  return new GwError(
    'GW_ERR_FRAME_TOO_LARGE',
    `${what}: ${sizeBytes} bytes exceeds the limit of ${maxFrameBytes} bytes`,
    { hint: 'raise --max-frame-bytes if such frames are legitimate', exitCode: EXIT_USAGE },
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

/** `host:port`, with IPv6 addresses in brackets. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
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
