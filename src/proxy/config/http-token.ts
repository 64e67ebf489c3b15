/**
 * HTTP's `token` (RFC 9110 §5.6.2): the grammar of method names, header field
 * names (§5.1) and cookie names (RFC 6265 §4.1.1).
 */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** True when `text` is a non-empty HTTP token. */
export function isHttpToken(text: string): boolean {
  return TOKEN.test(text);
}
