/**
 * The request path as routing sees it. A gateway that matches routes on the
 * raw path and a target that resolves it differently disagree about which
 * resource was asked for: `/public/../admin` matches a `/public` route at
 * the gateway and is `/admin` at the target. So the path is normalised
 * before any route looks at it, and the normalised path is what the target
 * receives; what cannot be normalised without guessing how the target reads
 * it is refused (the listener answers 400).
 *
 * Normalisation (RFC 3986 §6.2.2):
 * - percent-encoded unreserved characters are decoded (`%2E` → `.`,
 *   `%7E` → `~`, §2.3) and the hex digits of the other escapes are upper-cased
 *   (`%3f` → `%3F`, §6.2.2.1);
 * - runs of `/` are merged into one, as nginx's `merge_slashes` does;
 * - dot segments are removed (§5.2.4): `/a/./b` → `/a/b`, `/a/b/../c` → `/a/c`.
 *
 * Refused: `%2F` and `%5C` (an encoded `/` or `\` some targets decode into a
 * separator), a raw `\` (a separator on some servers), NUL raw or as `%00`,
 * a raw `#` (no fragment belongs in a request-target, RFC 9112 §3.2.1), a `%`
 * not followed by two hex digits, `..` above the root, and a dot segment
 * with path parameters (`/public/..;/admin`: `..` to a target that strips
 * `;` parameters, as Tomcat does, a plain segment here).
 *
 * Matching is case-sensitive, as RFC 3986 §6.2.2.1 says paths are: `/ADMIN`
 * is not `/admin` (a target that serves both alike must be protected under
 * both).
 *
 * Pure. A path that needs none of this is returned as the same string,
 * without allocating: the common request pays one scan of its path.
 */

/** Why a path was refused, for the 400 answer. */
export interface PathRefused {
  readonly refused: string;
}

const PERCENT = 37;
const SLASH = 47;
const DOT = 46;
const BACKSLASH = 92;
const HASH = 35;

/**
 * The normalised form of `path` (no query), or why it is refused. A path
 * that does not start with `/` (`*` of `OPTIONS *`) is returned unchanged.
 */
export function normalizePath(path: string): string | PathRefused {
  if (path.charCodeAt(0) !== SLASH) return path;
  const n = path.length;
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c === PERCENT || c === BACKSLASH || c === HASH || c === 0) return slowNormalize(path);
    if (c === SLASH) {
      const next = path.charCodeAt(i + 1);
      if (next === SLASH || next === DOT) return slowNormalize(path);
    }
  }
  return path;
}

/**
 * The check for a gRPC `:path` (`/package.Service/Method`): nothing there
 * needs normalising, so a path that normalisation would change (dot
 * segments, `//`, escapes of plain characters) is refused rather than
 * rewritten.
 */
export function checkGrpcPath(path: string): PathRefused | undefined {
  const normal = normalizePath(path);
  if (typeof normal !== 'string') return normal;
  return normal === path ? undefined : { refused: 'a gRPC path must be in normal form' };
}

function slowNormalize(path: string): string | PathRefused {
  const decoded = decodeUnreserved(path);
  if (typeof decoded !== 'string') return decoded;
  return removeDotSegments(decoded);
}

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === DOT ||
    c === 0x5f ||
    c === 0x7e
  );
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** Decodes escapes of unreserved characters, upper-cases the rest, refuses the dangerous ones. */
function decodeUnreserved(path: string): string | PathRefused {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === BACKSLASH) return { refused: 'a backslash in the path' };
    if (c === HASH) return { refused: 'a "#" in the request-target' };
    if (c === 0) return { refused: 'a NUL in the path' };
    if (c !== PERCENT) {
      out += path[i] ?? '';
      continue;
    }
    const high = hexValue(path.charCodeAt(i + 1));
    const low = hexValue(path.charCodeAt(i + 2));
    if (high < 0 || low < 0) return { refused: 'a "%" not followed by two hex digits' };
    const byte = high * 16 + low;
    if (byte === 0) return { refused: 'an encoded NUL (%00) in the path' };
    if (byte === SLASH) return { refused: 'an encoded slash (%2F) in the path' };
    if (byte === BACKSLASH) return { refused: 'an encoded backslash (%5C) in the path' };
    out += isUnreserved(byte)
      ? String.fromCharCode(byte)
      : `%${path.slice(i + 1, i + 3).toUpperCase()}`;
    i += 2;
  }
  return out;
}

/**
 * RFC 3986 §5.2.4 on an absolute path, with empty segments merged; `..`
 * above the root is refused (nginx answers 400 too) instead of clamped, since
 * no honest client sends it. A last segment that is empty, `.` or `..`
 * leaves a trailing slash: `/a/b/..` → `/a/`.
 */
function removeDotSegments(path: string): string | PathRefused {
  const segments = path.split('/');
  const kept: string[] = [];
  // segments[0] is the empty string before the leading '/'.
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] ?? '';
    if (segment.startsWith('.;') || segment.startsWith('..;'))
      return { refused: 'a dot segment with ";" parameters' };
    if (segment === '..') {
      if (kept.length === 0) return { refused: 'a ".." segment above the root' };
      kept.pop();
    } else if (segment !== '.' && segment !== '') {
      kept.push(segment);
    }
  }
  const last = segments[segments.length - 1] ?? '';
  const trailing = last === '' || last === '.' || last === '..';
  if (kept.length === 0) return '/';
  return `/${kept.join('/')}${trailing ? '/' : ''}`;
}
