import type { Clock } from '../../../shared/clock.js';

/**
 * A bounded map whose entries expire: least recently used first out when
 * full, an expired entry gone when next asked for. Memory is bounded by
 * `maxEntries` whatever the clients send. Pure; time from the injected clock.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expiresMs: number }>();

  private readonly clock: Clock;
  readonly maxEntries: number;

  constructor(clock: Clock, maxEntries: number) {
    this.clock = clock;
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.clock.nowMs() >= entry.expiresMs) {
      this.entries.delete(key);
      return undefined;
    }
    // Most recently used last: the first key is the one to evict.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresMs: this.clock.nowMs() + ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
  }
}
