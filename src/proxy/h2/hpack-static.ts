/**
 * The HPACK static table (RFC 7541 Appendix A): indices 1 to 61, ahead of the
 * dynamic table in the shared index space (§2.3.3).
 */

/** The number of entries in the static table; dynamic index 1 is HPACK index 62. */
export const STATIC_LENGTH = 61;

const ENTRIES: readonly (readonly [name: string, value: string])[] = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** Names by HPACK index (slot 0 unused, so `STATIC_NAMES[index]` needs no offset). */
export const STATIC_NAMES: readonly string[] = ['', ...ENTRIES.map(([name]) => name)];
/** Values by HPACK index (slot 0 unused). */
export const STATIC_VALUES: readonly string[] = ['', ...ENTRIES.map(([, value]) => value)];

/** The encoder's view of one static name: its lowest index, and the index of each value it has. */
export interface StaticName {
  readonly index: number;
  readonly values: ReadonlyMap<string, number>;
}

/** Static entries by name, for the encoder (two lookups, no key strings built per field). */
export const STATIC_BY_NAME: ReadonlyMap<string, StaticName> = (() => {
  const byName = new Map<string, { index: number; values: Map<string, number> }>();
  ENTRIES.forEach(([name, value], i) => {
    let slot = byName.get(name);
    if (slot === undefined) byName.set(name, (slot = { index: i + 1, values: new Map() }));
    if (!slot.values.has(value)) slot.values.set(value, i + 1);
  });
  return byName;
})();
