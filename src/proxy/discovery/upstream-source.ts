/**
 * Where an upstream's targets come from. Every kind of discovery (the static
 * list in the config; a file, DNS and etcd) is one of these, so the data
 * plane has one way to learn of targets: the upstream lists them once, then
 * hears of every change through `watch`, and hands each set to its balancer
 * (`UpstreamState.setTargets` → `Balancer.update`). A source that does I/O
 * keeps it behind `start`/`close`; its parsing is pure and tested apart.
 */
import type { TargetConfig, UpstreamConfig } from '../config/types.js';
import { describeDiscovery } from './types.js';
import { DnsSource } from './dns-source.js';
import { EtcdSource } from './etcd-source.js';
import { FileSource } from './file-source.js';

export { ChangingSource, sameTargetSet } from './changing-source.js';

export interface UpstreamSource {
  /** How logs name it: `static`, `file targets.yaml`, `dns api.test SRV`, `etcd … /services/api/`. */
  readonly label: string;
  /** The targets known now (may be empty before a first answer). */
  list(): readonly TargetConfig[];
  /** Calls `changed` with each new target set; returns a function that stops it. */
  watch(changed: (targets: readonly TargetConfig[]) => void): () => void;
  /**
   * Starts whatever the source polls or watches; resolves once it has a
   * first answer (a source that cannot get one keeps trying and may never
   * resolve: callers bound the wait).
   */
  start(): Promise<void>;
  /** Stops its timers and connections. */
  close(): Promise<void>;
}

/** The targets written in the config: listed once, never changing. */
export class StaticSource implements UpstreamSource {
  readonly label = 'config';
  private readonly targets: readonly TargetConfig[];

  constructor(targets: readonly TargetConfig[]) {
    this.targets = targets;
  }

  list(): readonly TargetConfig[] {
    return this.targets;
  }

  watch(): () => void {
    return () => undefined;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * What identifies an upstream's source across reloads: a source whose
 * settings are unchanged is kept (its watch, timers and connections go on),
 * any other is replaced.
 */
export function sourceKey(config: UpstreamConfig): string {
  return config.discovery === undefined ? 'static' : JSON.stringify(config.discovery);
}

/** The source an upstream's config names; `log` tells of its problems (one line each). */
export function sourceFor(
  config: UpstreamConfig,
  log: (line: string) => void = () => undefined,
): UpstreamSource {
  const d = config.discovery;
  if (d === undefined) return new StaticSource(config.targets);
  const label = describeDiscovery(d);
  const say = (line: string) => log(`upstream ${config.name}: ${label}: ${line}`);
  switch (d.type) {
    case 'file':
      return new FileSource(d, label, say);
    case 'dns':
      return new DnsSource(d, label, say);
    case 'etcd':
      return new EtcdSource(d, label, say);
  }
}

/** What changed between two sets: `+id` added, `-id` removed, `id weight a→b`. */
export function targetChanges(
  before: readonly { readonly id: string; readonly weight: number }[],
  after: readonly TargetConfig[],
): string[] {
  const old = new Map(before.map((t) => [t.id, t.weight]));
  const now = new Set(after.map((t) => t.id));
  const changes: string[] = [];
  for (const t of after) {
    const weight = old.get(t.id);
    if (weight === undefined) changes.push(`+${t.id}`);
    else if (weight !== t.weight) changes.push(`${t.id} weight ${weight}→${t.weight}`);
  }
  for (const t of before) if (!now.has(t.id)) changes.push(`-${t.id}`);
  return changes;
}
