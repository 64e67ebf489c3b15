/**
 * Removing the credential a route's auth consumed (`Exchange.consumed`) from
 * what goes to the target: its query parameter from the URL, its header from
 * field lines already built (a WebSocket upgrade's, made before auth ran).
 * HTTP requests and gRPC calls skip the header while they copy their fields.
 * Only exchanges of routes with auth come here. Pure.
 */

/**
 * `url` without any query parameter named `name` (matched as written, as
 * auth reads it: credentials.ts `queryParam`), the others kept in order; the
 * `?` goes too when nothing is left after it.
 */
export function withoutQueryParam(url: string, name: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  let kept = '';
  let removed = false;
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    if ((eq < 0 ? pair : pair.slice(0, eq)) === name) {
      removed = true;
      continue;
    }
    kept = kept === '' ? pair : `${kept}&${pair}`;
  }
  if (!removed) return url;
  return kept === '' ? url.slice(0, q) : `${url.slice(0, q + 1)}${kept}`;
}

/**
 * Field lines (`Name: value` CRLF, as `requestFieldLines` makes them) without
 * those whose name is `name` (lower case), in any case. A value holds no CR
 * or LF (the parser refuses them), so a line ends at the first CRLF.
 */
export function withoutFieldLines(lines: string, name: string): string {
  let out = '';
  let start = 0;
  while (start < lines.length) {
    const crlf = lines.indexOf('\r\n', start);
    const end = crlf < 0 ? lines.length : crlf + 2;
    const colon = lines.indexOf(':', start);
    const named =
      colon > start &&
      colon < end &&
      colon - start === name.length &&
      lines.slice(start, colon).toLowerCase() === name;
    if (!named) out += lines.slice(start, end);
    start = end;
  }
  return out;
}
