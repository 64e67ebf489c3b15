/**
 * Turning DNS answers into targets, and when to ask again. Pure.
 *
 * SRV records carry a port and a weight: only the lowest priority is used
 * (RFC 2782: higher priorities are for when all of it is down, which health
 * checks decide here), weight 0 counts as 1 (gw weights are positive), and
 * each record's target name becomes its addresses when they are known.
 * Node's `resolveSrv` gives no TTL, so SRV answers are re-read every
 * `intervalMs`; the A/AAAA lookups of their names do give one.
 */
import { formatHostPort } from '../../shared/format.js';
import type { TargetConfig } from '../config/types.js';

export interface AddressRecord {
  readonly address: string;
  /** Seconds. */
  readonly ttl: number;
}

export interface SrvRecord {
  readonly name: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

/** The lowest re-resolve delay: a TTL of 0 must not turn into a busy loop. */
export const MIN_DNS_DELAY_MS = 1000;

/** One target per address, all on `port`, weight 1, sorted so equal answers compare equal. */
export function addressTargets(records: readonly AddressRecord[], port: number): TargetConfig[] {
  const seen = new Map<string, TargetConfig>();
  for (const r of records) {
    const id = formatHostPort(r.address, port);
    if (!seen.has(id)) seen.set(id, { id, address: { host: r.address, port }, weight: 1 });
  }
  return [...seen.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * Targets from SRV records: the lowest priority only, each record's name
 * replaced by its addresses when `addresses` knows them (else kept as a name
 * the connector resolves), weight 0 as 1; a target reached twice keeps the
 * larger weight.
 */
export function srvTargets(
  records: readonly SrvRecord[],
  addresses: ReadonlyMap<string, readonly string[]>,
): TargetConfig[] {
  if (records.length === 0) return [];
  const best = Math.min(...records.map((r) => r.priority));
  const byId = new Map<string, TargetConfig>();
  for (const r of records) {
    if (r.priority !== best) continue;
    const name = r.name.replace(/\.$/, '').toLowerCase();
    const hosts = addresses.get(name) ?? [name];
    for (const host of hosts) {
      const id = formatHostPort(host, r.port);
      const weight = Math.max(1, r.weight);
      const known = byId.get(id);
      if (known === undefined || known.weight < weight) {
        byId.set(id, { id, address: { host, port: r.port }, weight });
      }
    }
  }
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** When to ask again: after `intervalMs`, or the shortest TTL when that is sooner (at least 1 s). */
export function nextDelayMs(intervalMs: number, ttls: readonly number[]): number {
  if (ttls.length === 0) return intervalMs;
  const ttlMs = Math.min(...ttls) * 1000;
  return Math.min(intervalMs, Math.max(MIN_DNS_DELAY_MS, ttlMs));
}
