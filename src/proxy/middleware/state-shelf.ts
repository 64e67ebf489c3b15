/**
 * State a feature keeps across config loads: a rate limiter's keys, say,
 * which a reload that leaves the limit as it was must not reset (a client at
 * its limit would get a fresh burst each time the operator reloads).
 *
 * The shelf lives as long as the gateway; each config load holds what its
 * features asked for through a {@link ShelfHolder}. A feature asks by id
 * (`deps.keep(id, make)`): the id says what the state is for (its place and
 * the settings it depends on), so the next load asking for the same id takes
 * the same state over, and one asking for another id (a changed setting)
 * gets fresh state. A state is closed once no load holds it any more: when
 * the old load is retired after the new one took it over, that is never.
 * Pure: no timers, no I/O.
 */

/** What `make` returns: the state, and how to end its background work (a sweep) once unused. */
export interface Kept<T> {
  readonly value: T;
  readonly close?: () => void;
}

interface Entry {
  readonly kept: Kept<unknown>;
  /** Loads holding it (the one in force, and the one it replaces during a reload). */
  holders: number;
}

/** Every state kept for the gateway's config loads, by id. */
export class StateShelf {
  private readonly entries = new Map<string, Entry>();

  /** A hold for one config load: what it keeps stays until it is released. */
  holder(): ShelfHolder {
    return new ShelfHolder(this.entries);
  }

  /** States held by some load now. */
  get size(): number {
    return this.entries.size;
  }
}

/** One config load's hold on the shelf. */
export class ShelfHolder {
  private readonly entries: Map<string, Entry>;
  /** The ids this load holds (each once, however often it asked). */
  private readonly held = new Set<string>();
  private released = false;

  constructor(entries: Map<string, Entry>) {
    this.entries = entries;
  }

  /**
   * The state kept under `id`: the one a load still held (taken over), or
   * `make()`'s. Asked again by this load, the same state. Called at build
   * time only, never per exchange.
   */
  keep<T>(id: string, make: () => Kept<T>): T {
    if (this.released) throw new Error(`state ${id} asked for by a retired config`);
    let entry = this.entries.get(id);
    if (entry === undefined) {
      entry = { kept: make(), holders: 0 };
      this.entries.set(id, entry);
    }
    if (!this.held.has(id)) {
      this.held.add(id);
      entry.holders++;
    }
    return entry.kept.value as T;
  }

  /**
   * Lets go of everything this load held: a state no other load holds is
   * closed and forgotten. Once only (later calls do nothing).
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const id of this.held) {
      const entry = this.entries.get(id);
      if (entry === undefined || --entry.holders > 0) continue;
      this.entries.delete(id);
      entry.kept.close?.();
    }
    this.held.clear();
  }
}
