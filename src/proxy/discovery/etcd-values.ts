/**
 * Turning the keys under an etcd prefix into targets. Each value is JSON
 * `{ "address": "host:port", "weight": N, "metadata": {...} }` (weight
 * optional, metadata free-form and unused by the gateway) or a bare
 * `host:port`; the address is checked as the config's targets are. A key
 * whose value is invalid is skipped and reported; the rest are used. Pure.
 */
import { targetSchema } from '../config/schema.js';
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
  let candidate: unknown = text;
  if (text.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return `not valid JSON (${err instanceof Error ? err.message : String(err)})`;
    }
    if (typeof json !== 'object' || json === null) return 'not a JSON object';
    const { address, weight, metadata } = json as Record<string, unknown>;
    const extra = Object.keys(json).filter((k) => !['address', 'weight', 'metadata'].includes(k));
    if (extra.length > 0) return `unknown field ${extra.join(', ')} (allowed: address, weight, metadata)`;
    if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null)) {
      return 'metadata must be a JSON object';
    }
    candidate = weight === undefined ? { address } : { address, weight };
  }
  const result = targetSchema.safeParse(candidate);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
  return `${where}${issue?.message ?? 'invalid'} (allowed: { "address": "host:port", "weight": N })`;
}
