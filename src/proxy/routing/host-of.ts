/**
 * The Host header (or :authority) without its port, lower case: `[::1]:8080`
 * → `::1`. One trailing dot is removed: `example.test.` is the same name as
 * `example.test` written fully qualified (RFC 1034 §3.1), and a target's
 * virtual hosting treats it so; matched apart, `Host: admin.test.` would slip
 * past a route that protects `host: admin.test` onto a catch-all.
 */
export function hostOf(host: string | undefined): string {
  if (host === undefined) return '';
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return (end < 0 ? host.slice(1) : host.slice(1, end)).toLowerCase();
  }
  const colon = host.indexOf(':');
  const name = colon < 0 ? host : host.slice(0, colon);
  const bare = name.length > 1 && name.endsWith('.') ? name.slice(0, -1) : name;
  return bare.toLowerCase();
}
