/**
 * Turning the keys under an etcd prefix into targets. Each value is JSON
 * `{ "address": "host:port", "weight": N, "metadata": {...} }` (weight
 * optional, metadata free-form and unused by the gateway) or a bare
 * `host:port`; the address is checked as the config's targets are. A key
 * whose value is invalid is skipped and reported; the rest are used. Pure.
 */
import { parseHostPort } from '../config/parse-host-port.js';
import type { TargetConfig } from '../config/types.js';

export interface EtcdTargets {
  readonly targets: TargetConfig[];
  /** `key: problem` for each value that was skipped. */
  readonly problems: string[];
}

/** Targets from `key → value` pairs, sorted by id; two keys with one address keep the larger weight. */
export function etcdTargets(values: Readonly<Record<string, string>>): EtcdTargets {
  const byId = new Map<string, TargetConfig>();
  const problems: string[] = [];
  for (const key of Object.keys(values).sort()) {
    const parsed = parseEtcdValue(values[key] ?? '');
    if (typeof parsed === 'string') {
      problems.push(`${key}: ${parsed}`);
      continue;
    }
    const known = byId.get(parsed.id);
    if (known === undefined || known.weight < parsed.weight) byId.set(parsed.id, parsed);
  }
  return { targets: [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)), problems };
}

/** One value as a target, or what is wrong with it. */
export function parseEtcdValue(value: string): TargetConfig | string {
  const text = value.trim();
  if (!text.startsWith('{')) return targetOf(text, 1);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return `not valid JSON (${err instanceof Error ? err.message : String(err)})`;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'not a JSON object';
  const { address, weight, metadata } = json as Record<string, unknown>;
  const extra = Object.keys(json).filter((k) => !['address', 'weight', 'metadata'].includes(k));
  if (extra.length > 0) {
    return `unknown field ${extra.join(', ')} (allowed: address, weight, metadata)`;
  }
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null)) {
    return 'metadata must be a JSON object';
  }
  if (typeof address !== 'string') return 'address: missing or not a string (allowed: "host:port")';
  const w = weight ?? 1;
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 1 || w > 1_000_000) {
    return `weight: ${JSON.stringify(w)} (allowed: a whole number 1–1000000)`;
  }
  return targetOf(address, w);
}

/** The address checked as the config's targets are; its text as written is the id. */
function targetOf(id: string, weight: number): TargetConfig | string {
  const address = parseHostPort(id, { allowPortZero: false });
  if (!address.ok) return `address ${JSON.stringify(id)}: ${address.problem} (allowed: host:port)`;
  return { id, address: address.value, weight };
}
