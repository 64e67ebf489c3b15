/**
 * The parts of an HTTP/1.1 request-target routing needs. Pure.
 *
 * A proxy may be sent the absolute-form, `http://example.test/ws?x=1`
 * (RFC 9112 §3.2.2). Its authority then names the host, whatever the Host
 * field says: the receiver MUST ignore Host and use the target's host, and a
 * proxy forwarding it MUST send a Host made from the target.
 */

/** A request-target split for routing. */
export interface SplitTarget {
  /** The authority of an absolute-form target (`example.test:8080`); undefined for origin-form. */
  readonly authority: string | undefined;
  /** Path and query (`/ws?x=1`), `/` when an absolute-form target has no path. */
  readonly url: string;
}

/** A request-target refused outright, with the reason for the 400 answer. */
export interface TargetRefused {
  readonly refused: string;
}

const ABSOLUTE = /^https?:\/\/([^/?#]*)/i;

/**
 * Splits `target` into its authority (absolute-form only) and its path and
 * query. Refuses an absolute-form target with userinfo (`user@host`, an
 * error per RFC 9110 §4.2.4) or with an empty authority.
 */
export function splitTarget(target: string): SplitTarget | TargetRefused {
  if (target.charCodeAt(0) === 47) return { authority: undefined, url: target }; // '/'
  const match = ABSOLUTE.exec(target);
  if (match === null) return { authority: undefined, url: target };
  const authority = match[1] ?? '';
  if (authority.includes('@')) return { refused: 'userinfo in the request-target' };
  if (authority === '') return { refused: 'an absolute-form request-target without a host' };
  const rest = target.slice(match[0].length);
  const url = rest === '' ? '/' : rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
  return { authority, url };
}
