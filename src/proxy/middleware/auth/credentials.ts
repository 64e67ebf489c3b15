/**
 * Reading credentials from a request, whatever its protocol (`ex.header`
 * reads HTTP fields and gRPC metadata alike). Pure.
 */
import type { Exchange } from '../../pipeline/types.js';

/** The credentials after `scheme ` in Authorization (case-insensitive scheme), or undefined. */
export function authorization(ex: Exchange, scheme: string): string | undefined {
  const value = ex.header('authorization');
  if (value === undefined || value.length <= scheme.length + 1) return undefined;
  if (value.slice(0, scheme.length).toLowerCase() !== scheme.toLowerCase()) return undefined;
  if (value.charCodeAt(scheme.length) !== 32) return undefined;
  const rest = value.slice(scheme.length + 1).trim();
  return rest === '' ? undefined : rest;
}

/** The first value of query parameter `name` in `url`, percent-decoded; undefined when absent. */
export function queryParam(url: string, name: string): string | undefined {
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key !== name) continue;
    try {
      return decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1).replace(/\+/g, ' '));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A consumer name fit for a header line: visible ASCII, no spaces, at most 256 characters. */
export function isHeaderSafeName(name: string): boolean {
  return /^[\x21-\x7e]{1,256}$/.test(name);
}
