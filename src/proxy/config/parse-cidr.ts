import { parseHostPort, isIpv6, type Parsed } from './parse-host-port.js';

/**
 * Parses a peer range for `trustedProxies`: `10.0.0.0/8`, `fd00::/8`, or a
 * single address (`127.0.0.1`, `::1`), which becomes `/32` or `/128`. Returns
 * the canonical `address/bits`. Host names are refused: trust is decided on
 * the peer's address, never on a name someone else's DNS controls. Pure.
 */
export function parseCidr(text: string): Parsed<string> {
  const parts = text.split('/');
  if (parts.length > 2) return fail('more than one /');
  const [address = '', bits] = parts;
  const v6 = address.includes(':');
  if (!v6 && !/^[\d.]+$/.test(address))
    return fail('not an IP address (host names are not allowed)');
  // Reuse the address grammar of host:port with a dummy port.
  const parsed = parseHostPort(v6 ? `[${address}]:1` : `${address}:1`, { allowPortZero: false });
  if (!parsed.ok) return parsed;
  const maxBits = isIpv6(parsed.value.host) ? 128 : 32;
  if (bits !== undefined && (!/^\d{1,3}$/.test(bits) || Number(bits) > maxBits)) {
    return fail(`prefix length must be 0–${maxBits}`);
  }
  return { ok: true, value: `${parsed.value.host}/${bits ?? maxBits}` };
}

function fail(problem: string): { readonly ok: false; readonly problem: string } {
  return { ok: false, problem };
}
