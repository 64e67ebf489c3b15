/**
 * What changed from one valid config to the next, in a few words for the
 * reload's log line: `2 routes changed, upstream api: 1 target added`.
 * Listener sockets (opened, moved, closed) are told by the gateway, which
 * did it. Pure.
 */
import { plural } from '../../shared/format.js';
import type { ListenerConfig, ProxyConfig, UpstreamConfig } from '../config/types.js';

/** The changes from `before` to `after`, one phrase each, in config order; empty when none. */
export function describeChanges(before: ProxyConfig, after: ProxyConfig): string[] {
  return [
    ...routeChanges(before, after),
    ...listenerSettingChanges(before, after),
    ...upstreamChanges(before, after),
    ...topLevelChanges(before, after),
  ];
}

/** Routes added, removed or changed, counted over every listener (by listener and route name). */
function routeChanges(before: ProxyConfig, after: ProxyConfig): string[] {
  const routes = (config: ProxyConfig): Map<string, string> => {
    const out = new Map<string, string>();
    for (const listener of config.listeners) {
      if (listener.protocol === 'tcp') {
        out.set(`${listener.name}\0tcp`, canonical([listener.upstream, listener.features]));
        continue;
      }
      for (const route of listener.routes)
        out.set(`${listener.name}\0${route.name}`, canonical(route));
    }
    return out;
  };
  const changed = differingKeys(routes(before), routes(after)).length;
  return changed === 0 ? [] : [`${plural(changed, 'route')} changed`];
}

/** A listener's own settings (not its routes, not its address) that changed. */
function listenerSettingChanges(before: ProxyConfig, after: ProxyConfig): string[] {
  const old = new Map(before.listeners.map((l) => [l.name, l]));
  return after.listeners.flatMap((listener) => {
    const was = old.get(listener.name);
    if (was === undefined) return [];
    const keys = changedFields(settingsOf(was), settingsOf(listener));
    return keys.length === 0 ? [] : [`listener ${listener.name}: ${keys.join(', ')} changed`];
  });
}

function settingsOf(listener: ListenerConfig): Record<string, unknown> {
  return without(listener, ['name', 'listen', 'routes', 'upstream', 'features']);
}

/** A copy of `record` without `keys`. */
function without(record: object, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (!keys.includes(key)) out[key] = value;
  return out;
}

function upstreamChanges(before: ProxyConfig, after: ProxyConfig): string[] {
  const phrases: string[] = [];
  for (const [name, upstream] of after.upstreams) {
    const was = before.upstreams.get(name);
    if (was === undefined) {
      phrases.push(`upstream ${name} added`);
      continue;
    }
    const parts = [...targetChanges(was, upstream)];
    const fields = changedFields(without(was, ['targets']), without(upstream, ['targets']));
    parts.push(...fields.map((key) => `${key} changed`));
    if (parts.length > 0) phrases.push(`upstream ${name}: ${parts.join(', ')}`);
  }
  for (const name of before.upstreams.keys()) {
    if (!after.upstreams.has(name)) phrases.push(`upstream ${name} removed`);
  }
  return phrases;
}

/** `1 target added`, `2 removed`, `1 reweighted`: the config's own target list. */
function targetChanges(before: UpstreamConfig, after: UpstreamConfig): string[] {
  const weights = new Map(before.targets.map((t) => [t.id, t.weight]));
  const kept = new Set<string>();
  let added = 0;
  let reweighted = 0;
  for (const target of after.targets) {
    const weight = weights.get(target.id);
    if (weight === undefined) added++;
    else {
      kept.add(target.id);
      if (weight !== target.weight) reweighted++;
    }
  }
  const removed = before.targets.filter((t) => !kept.has(t.id)).length;
  const counts: [number, string][] = [
    [added, 'added'],
    [removed, 'removed'],
    [reweighted, 'reweighted'],
  ];
  // The first phrase names what is counted: "1 target added, 2 removed".
  return counts
    .filter(([n]) => n > 0)
    .map(([n, what], i) => (i === 0 ? `${plural(n, 'target')} ${what}` : `${n} ${what}`));
}

/** Top-level settings: consumers, shedding, shutdownTimeoutMs, and any added later. */
function topLevelChanges(before: ProxyConfig, after: ProxyConfig): string[] {
  const rest = (config: ProxyConfig) => without(config, ['source', 'listeners', 'upstreams']);
  return changedFields(rest(before), rest(after)).map((key) => `${key} changed`);
}

/** The keys whose values differ between two records (present in either), sorted. */
function changedFields(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((key) => canonical(a[key]) !== canonical(b[key])).sort();
}

/** The keys whose canonical values differ, or that only one side has. */
function differingKeys(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((key) => a.get(key) !== b.get(key));
}

/** A stable text for a config value: maps as entries, object keys sorted; `-` for undefined. */
export function canonical(value: unknown): string {
  if (value === undefined) return '-';
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof Map) return { map: [...(v as Map<unknown, unknown>).entries()] };
    if (v instanceof Set) return { set: [...(v as Set<unknown>).values()] };
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
      return sorted;
    }
    return v;
  });
}
