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

const ABSOLUTE = /^https?:\/\/([^/?#]*)/i;

/**
 * Splits `target` into its authority (absolute-form only) and its path and
 * query. An authority with userinfo or an empty one never gets here: the
 * request parser refused it (h1/head.ts, RFC 9110 §4.2.1, §4.2.4).
 */
export function splitTarget(target: string): SplitTarget {
  if (target.charCodeAt(0) === 47) return { authority: undefined, url: target }; // '/'
  const match = ABSOLUTE.exec(target);
  if (match === null) return { authority: undefined, url: target };
  const rest = target.slice(match[0].length);
  const url = rest === '' ? '/' : rest.charCodeAt(0) === 47 ? rest : `/${rest}`;
  return { authority: match[1] ?? '', url };
}
