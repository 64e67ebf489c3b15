/**
 * What a gateway feature is: one folder under `middleware/`, with the schema
 * of its setting, a pure core, any store or I/O, and an `index.ts` exporting
 * one {@link Feature}. Registering it in `features.ts` is the only line
 * outside its folder: the config schema takes its key where it may be
 * written, and the chain builder builds it once per config load wherever it
 * is set.
 */
import type { z } from 'zod';
import type { Clock } from '../../shared/clock.js';
import type { Sweeper } from '../../shared/sweeper.js';
import type { ProxyConfig } from '../config/types.js';
import type { L4Exchange, Middleware } from '../pipeline/types.js';
import type { UpstreamRuntime } from '../upstream/upstream-runtime.js';
import type { SharedStore } from '../store/shared-store.js';
import type { Kept } from './state-shelf.js';

/** Where a feature's key may be written: on routes (HTTP, WebSocket, gRPC) or on tcp listeners. */
export type FeaturePlace = 'route' | 'tcp';

/** What a feature's build may use: the shared clock and sweeper, the config, and where it is. */
export interface FeatureDeps {
  readonly clock: Clock;
  readonly sweeper: Sweeper;
  /** The whole config being loaded (consumers, upstreams), read-only. */
  readonly config: ProxyConfig;
  /** The gateway's event log (not the access log's lines): one line per state change. */
  readonly log: (line: string) => void;
  /** Where the setting is, for messages: `listener web, route api`. */
  readonly where: string;
  /**
   * The runtime of an upstream of this config, by name: call it per exchange, not
   * in `build` (the upstreams are reconciled after every feature is built).
   */
  readonly upstream: (name: string) => UpstreamRuntime | undefined;
  /** The gateway's connection to the top-level `store` (Redis), when the config has one. */
  readonly sharedStore?: SharedStore;
  /**
   * State that carries over to the next config load (see state-shelf.ts):
   * the same `id` asked for by this feature in the next load gets the same
   * value, so a reload that leaves a setting as it was keeps its state; a
   * new id gets `make()`'s. Ids are this feature's own (another feature's
   * same id is another state); put in them the place (`where`) unless every
   * place shares the state, and every setting the state depends on. `close`
   * runs once no config in force holds the state: not when the config that
   * made it is retired, if the next one took it over. At build time only.
   */
  readonly keep: <T>(id: string, make: () => Kept<T>) => T;
}

/** The middleware a feature builds for one place. */
export interface FeatureMiddleware {
  /** For a route: every HTTP request, WebSocket upgrade and gRPC call on it. */
  readonly route?: Middleware;
  /** For a tcp listener: every connection. */
  readonly tcp?: Middleware<L4Exchange>;
  /**
   * Ends the background work `build` started (a sweep, a monitor), once the
   * config that built it is replaced or the gateway stops. Exchanges still
   * running on it keep working; only its housekeeping ends. (State made
   * through `deps.keep` is closed by its own `close`, not here.)
   */
  readonly close?: () => void;
}

export interface Feature<S = unknown> {
  /** The config key (`allowFrom`), the same at every place. */
  readonly key: string;
  readonly places: readonly FeaturePlace[];
  /** Validates the setting as written; its output is what `build` gets. */
  readonly schema: z.ZodType<S>;
  /**
   * The settings a place of the feature's kind is built with when its key is
   * absent (route `priority` defaults to `normal`); undefined: such a place
   * is not built at all.
   */
  readonly unset?: S;
  /** Builds the middleware for one place, once per config load. */
  build(settings: S, deps: FeatureDeps): FeatureMiddleware;
  /** A short note for `gw proxy --check`'s table (`allow 10.0.0.0/8`). */
  describe(settings: S): string;
  /** The settings for `gw proxy --check --json`, as a user would write them. */
  toJson(settings: S): unknown;
  /**
   * Query parameters whose values are credentials under these settings (an
   * API key's `query`): the access log hides their values on every request
   * of the listener, whichever route (or none) takes it.
   */
  secretParams?(settings: S): readonly string[];
}

/** A feature with its settings type forgotten, for lists of features (settings come validated). */
export interface AnyFeature {
  readonly key: string;
  readonly places: readonly FeaturePlace[];
  readonly schema: z.ZodType;
  readonly unset?: unknown;
  build(settings: unknown, deps: FeatureDeps): FeatureMiddleware;
  describe(settings: unknown): string;
  toJson(settings: unknown): unknown;
  secretParams?(settings: unknown): readonly string[];
}

/** Keeps a feature's settings type checked where it is defined, and erases it for the list. */
export function defineFeature<S>(feature: Feature<S>): AnyFeature {
  return feature;
}
