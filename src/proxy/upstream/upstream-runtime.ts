import type { GwError } from '../../shared/errors.js';
import { createBalancer } from '../balancers/index.js';
import type { Balancer } from '../balancers/types.js';
import type { BalanceName, TargetConfig, UpstreamConfig } from '../config/types.js';
import {
  sourceFor,
  sourceKey,
  targetChanges,
  type UpstreamSource,
} from '../discovery/upstream-source.js';
import type { H1Pool } from '../h1/upstream-pool.js';
import type { H2Connection } from '../h2/connection.js';
import { configureBreaker, type BreakerMonitor } from '../breaker/monitor.js';
import { configureTargetBreakers, type TargetBreakers } from '../breaker/target-breakers.js';
import { configureOutliers } from '../health/outlier-monitor.js';
import type { BaseExchange } from '../pipeline/types.js';
import { TargetRuntime, type PoolSettings } from './target-runtime.js';
import { syncMonitor, type HealthMonitor } from '../health/monitor.js';

export { TargetRuntime } from './target-runtime.js';

/**
 * How one attempt (one target tried for one exchange) ended. `ok`: the
 * target answered; `status-5xx`: it answered with a failure (HTTP 5xx, gRPC
 * UNAVAILABLE); `connect-failed`, `timeout` and `reset` are failures of the
 * target or the path to it; `aborted`: the client left or its request was
 * refused, which says nothing about the target.
 */
export type AttemptOutcome =
  'ok' | 'status-5xx' | 'connect-failed' | 'timeout' | 'reset' | 'aborted';

/** One attempt's record, where passive health, the breaker and metrics hook in. */
export interface AttemptRecord {
  readonly upstream: string;
  readonly target: TargetRuntime;
  readonly exchange: BaseExchange;
  readonly outcome: AttemptOutcome;
  /** From the attempt's start to its end. */
  readonly durationMs: number;
  /** What the attempt failed with; undefined for `ok` and `status-5xx`. */
  readonly error: GwError | undefined;
}

export type AttemptObserver = (record: AttemptRecord) => void;

/**
 * What a `--workers` primary tells its workers about one upstream: the
 * target set its discovery source gave (undefined when the config lists the
 * targets: workers take those from the config) and the ids its active health
 * checks found unhealthy. Plain data: it crosses the IPC channel as JSON.
 */
export interface UpstreamSnapshot {
  readonly name: string;
  readonly targets: readonly TargetConfig[] | undefined;
  readonly down: readonly string[];
}

/**
 * Where an upstream's targets and health verdicts come from besides its own
 * probes and discovery: set on a `--workers` worker, whose primary runs them
 * once for every worker. With it, the upstream never probes nor watches a
 * source; it takes the primary's last {@link UpstreamSnapshot} instead.
 */
export interface UpstreamControl {
  /** The primary's last word on the upstream, if any yet. */
  snapshot(name: string): UpstreamSnapshot | undefined;
}

/**
 * How long a gateway start (or reload) waits for a discovery source's first
 * answer. A source that has none by then (etcd down, DNS not answering)
 * leaves the upstream with the targets it had (none at a first start: 503
 * GW_ERR_NO_TARGET) and applies its answer when it comes; the gateway never
 * waits forever on a dead registry.
 */
export const DISCOVERY_START_WAIT_MS = 3000;

/**
 * One upstream's state across config loads: its targets (each a
 * {@link TargetRuntime} that keeps its counts and connections), its balancer
 * (kept while `balance` is unchanged, so rotation and weights carry over), its
 * source of targets, and who hears of every attempt. Owned by the
 * {@link TargetRegistry}; exchanges see it through an {@link UpstreamRuntime}.
 */
export class UpstreamState {
  readonly name: string;
  targets: readonly TargetRuntime[] = [];
  balancer: Balancer<TargetRuntime>;
  /** Hear of every attempt's outcome (passive health, breakers, metrics). */
  readonly observers: AttemptObserver[] = [];
  /**
   * Serve from every target when fewer than this share are available (Envoy's
   * panic mode): better to try them all than refuse every request. 0 turns it off.
   */
  panicThreshold = 0.5;
  /** The targets the balancer picks from now (all of them in panic). */
  private inService: readonly TargetRuntime[] = [];
  /** In panic mode now (fewer than panicThreshold of the targets available). */
  panicking = false;
  private readonly byId = new Map<string, TargetRuntime>();
  private balance: BalanceName;
  private settings: PoolSettings;
  private source: UpstreamSource | undefined;
  private sourceKey: string | undefined;
  private unwatch: (() => void) | undefined;
  /** Resolves once the current source answered first, or gave up waiting for it. */
  starting: Promise<void> = Promise.resolve();
  /** The target set last applied, as configs (re-applied when only settings change). */
  private applied: readonly TargetConfig[] = [];
  /** Active health checks, when the config sets `healthCheck`. */
  health: HealthMonitor | undefined;
  /** The circuit breaker, when the config sets `circuitBreaker` (tryTargets asks it first). */
  breaker: BreakerMonitor | undefined;
  /**
   * One circuit breaker per target, when `circuitBreaker.perTarget` is set
   * (tryTargets asks the picked target's; one field test when none).
   */
  targetBreakers: TargetBreakers | undefined;

  /** Where this upstream's state changes are told, one line each. */
  readonly log: (line: string) => void;
  /** Set on a worker: targets and verdicts come from the primary (see {@link UpstreamControl}). */
  private readonly control: UpstreamControl | undefined;
  /** Called after every availability recompute (a primary broadcasts what changed). */
  private readonly changed: (() => void) | undefined;
  /** Whether the config in force has `discovery` (a worker then takes its targets from the primary). */
  private discovering = false;

  constructor(
    config: UpstreamConfig,
    log: (line: string) => void = () => undefined,
    options: { readonly control?: UpstreamControl; readonly changed?: () => void } = {},
  ) {
    this.name = config.name;
    this.log = log;
    this.control = options.control;
    this.changed = options.changed;
    this.balance = config.balance;
    this.settings = poolSettings(config);
    this.balancer = this.newBalancer();
  }

  /**
   * Takes a config's settings for this upstream: balancer, connection
   * settings, source. Resolves once the targets it dropped have drained.
   */
  configure(config: UpstreamConfig): Promise<void> {
    this.settings = poolSettings(config);
    configureOutliers(this, config.outlierDetection);
    this.breaker = configureBreaker(this, this.breaker, config.circuitBreaker);
    this.targetBreakers = configureTargetBreakers(this, this.targetBreakers, config.circuitBreaker);
    this.panicThreshold = config.panicThreshold;
    if (config.balance !== this.balance) {
      this.balance = config.balance;
      this.balancer = this.newBalancer();
    }
    this.discovering = config.discovery !== undefined;
    if (this.control !== undefined) return this.configureControlled(config, this.control);
    this.health = syncMonitor(this.health, this, config.healthCheck, config.tls);
    const key = sourceKey(config);
    if (config.discovery === undefined || key !== this.sourceKey) {
      this.unwatch?.();
      this.unwatch = undefined;
      void this.source?.close();
      this.source = undefined;
      this.sourceKey = key;
    }
    // Targets written in the config apply at once, as they are.
    if (config.discovery === undefined) return this.setTargets(config.targets);
    // The same discovery settings: the source (its watch, timers, connections) carries on.
    if (this.source !== undefined) return this.setTargets(this.applied);
    const source = sourceFor(config, this.log);
    this.source = source;
    this.unwatch = source.watch((targets) => this.discovered(source, targets));
    this.starting = this.startSource(source);
    return Promise.resolve();
  }

  /**
   * A worker's configure: no monitor, no source. Listed targets come from the
   * config, discovered ones from the primary's last snapshot (none before
   * its first), and verdicts from the snapshot in both cases.
   */
  private configureControlled(config: UpstreamConfig, control: UpstreamControl): Promise<void> {
    const snapshot = control.snapshot(this.name);
    const targets = this.discovering ? (snapshot?.targets ?? this.applied) : config.targets;
    const drained = this.setTargets(targets);
    this.takeVerdicts(snapshot?.down ?? []);
    return drained;
  }

  /**
   * The primary's word on this upstream (a worker): a discovered target set
   * that differs is applied, and each target takes the primary's verdict.
   */
  follow(snapshot: UpstreamSnapshot): void {
    if (this.discovering && snapshot.targets !== undefined) {
      if (
        targetChanges(this.targets, snapshot.targets).length > 0 ||
        this.weightsDiffer(snapshot.targets)
      )
        void this.setTargets(snapshot.targets);
    }
    this.takeVerdicts(snapshot.down);
  }

  private weightsDiffer(configs: readonly TargetConfig[]): boolean {
    return configs.some((c) => this.byId.get(c.id)?.weight !== c.weight);
  }

  /** Every target healthy but those in `down`; the set in service recomputed if one changed. */
  private takeVerdicts(down: readonly string[]): void {
    const unhealthy = new Set(down);
    let changed = false;
    for (const target of this.targets) {
      const healthy = !unhealthy.has(target.id);
      if (target.healthy === healthy) continue;
      target.healthy = healthy;
      changed = true;
    }
    if (changed) this.refreshAvailability(performance.now());
  }

  /** What a primary tells its workers of this upstream. */
  snapshot(): UpstreamSnapshot {
    return {
      name: this.name,
      targets: this.discovering ? this.applied : undefined,
      down: this.targets.filter((t) => !t.healthy).map((t) => t.id),
    };
  }

  /** Starts a discovery source, waiting at most {@link DISCOVERY_START_WAIT_MS} for its first answer. */
  private async startSource(source: UpstreamSource): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), DISCOVERY_START_WAIT_MS).unref();
    });
    const started = source.start().then(
      () => 'started' as const,
      (err: unknown) => {
        this.log(`upstream ${this.name}: ${source.label}: cannot start: ${String(err)}`);
        return 'failed' as const;
      },
    );
    const outcome = await Promise.race([started, timeout]);
    clearTimeout(timer);
    if (outcome === 'started' || this.source !== source) return;
    const n = this.targets.length;
    const serving = n === 0 ? 'requests get 503 GW_ERR_NO_TARGET' : `keeping its ${n} targets`;
    this.log(
      `upstream ${this.name}: no answer from ${source.label} within ${DISCOVERY_START_WAIT_MS} ms; ${serving} until it answers`,
    );
  }

  /** A discovery source's new set: logged once (with what changed), then applied. */
  private discovered(source: UpstreamSource, configs: readonly TargetConfig[]): void {
    if (this.source !== source) return;
    const changes = targetChanges(this.targets, configs);
    const n = configs.length;
    const what = changes.length === 0 ? '' : ` (${changes.join(', ')})`;
    const empty = n === 0 ? '; requests get 503 GW_ERR_NO_TARGET until one appears' : '';
    this.log(
      `upstream ${this.name}: ${n} target${n === 1 ? '' : 's'} from ${source.label}${what}${empty}`,
    );
    void this.setTargets(configs);
  }

  /**
   * Replaces the target set: a target whose id remains keeps its object (and
   * with it its in-flight count and connections) and takes its new weight;
   * a new one is added; one that is gone is drained (the promise resolves
   * once its connections have closed).
   */
  setTargets(configs: readonly TargetConfig[]): Promise<void> {
    this.applied = configs;
    const next: TargetRuntime[] = [];
    const seen = new Set<string>();
    for (const config of configs) {
      let target = this.byId.get(config.id);
      if (target === undefined) {
        target = new TargetRuntime(config.id, config.address, config.weight, this.settings);
        this.byId.set(config.id, target);
      } else target.configure(config.weight, this.settings);
      seen.add(config.id);
      next.push(target);
    }
    const drains: Promise<void>[] = [];
    for (const [id, target] of this.byId) {
      if (seen.has(id)) continue;
      this.byId.delete(id);
      drains.push(target.drain());
    }
    this.targets = next;
    this.health?.follow(next);
    this.targetBreakers?.follow(next);
    this.refreshAvailability(performance.now(), true);
    return Promise.allSettled(drains).then(() => undefined);
  }

  /**
   * Recomputes which targets the balancer picks from, after a health verdict,
   * an ejection or its end, or a new target set: the available ones, or all of
   * them in panic mode. The balancer is updated only when that set changed
   * (`force` after a new target set), so the rotation and hash ring stay put
   * otherwise. Returns true when the set changed.
   */
  refreshAvailability(nowMs: number, force = false): boolean {
    const all = this.targets;
    const available = all.filter((t) => t.availableAt(nowMs));
    const panicking = all.length > 0 && available.length < all.length * this.panicThreshold;
    const next = panicking || available.length === all.length ? all : available;
    if (panicking !== this.panicking) this.logPanic(panicking, available.length, all.length);
    this.panicking = panicking;
    this.changed?.();
    if (!force && sameTargets(next, this.inService)) return false;
    this.inService = next;
    this.balancer.update(next);
    return true;
  }

  /** Panic mode entered or left: said once each. */
  private logPanic(panicking: boolean, available: number, all: number): void {
    const counts = `${available} of ${all} targets available`;
    const share = `${Math.round(this.panicThreshold * 100)}%`;
    this.log(
      panicking
        ? `upstream ${this.name}: panic mode: ${counts} (below ${share}); balancing over all`
        : `upstream ${this.name}: panic mode over: ${counts}`,
    );
  }

  /** The targets the balancer picks from now. */
  get serving(): readonly TargetRuntime[] {
    return this.inService;
  }

  /** Drains every target: the upstream left the config. */
  async drain(): Promise<void> {
    this.unwatch?.();
    const source = this.source;
    this.source = undefined;
    this.health?.close();
    this.targetBreakers?.stop();
    const targets = [...this.byId.values()];
    this.byId.clear();
    this.targets = [];
    // The balancer keeps them: an exchange pinned to the config that had this upstream (one
    // waiting in a middleware when the reload came) still finishes on it. Targets are live
    // state, though: one dropped from an upstream that remains is gone for pinned exchanges too.
    const drains = targets.map((t) => t.drain());
    await source?.close();
    await Promise.allSettled(drains);
  }

  /** Closes every connection (shutting down); busy HTTP/2 ones are cut after `forceAfterMs`. */
  async close(forceAfterMs?: number): Promise<void> {
    this.unwatch?.();
    this.health?.close();
    this.targetBreakers?.stop();
    await this.source?.close();
    await Promise.allSettled([...this.byId.values()].map((t) => t.closeConnections(forceAfterMs)));
  }

  private newBalancer(): Balancer<TargetRuntime> {
    return createBalancer(this.balance, this.inService, {
      load: (id) => this.byId.get(id)?.active ?? 0,
    });
  }
}

function sameTargets(a: readonly TargetRuntime[], b: readonly TargetRuntime[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function poolSettings(config: UpstreamConfig): PoolSettings {
  return { tls: config.tls, timeouts: config.timeouts };
}

/**
 * One upstream as one config load sees it: that load's settings (balance,
 * hash key, timeouts) over the upstream's lasting state. An exchange pins the
 * runtime of the config it was routed with, so it finishes on that config even
 * when a reload comes while it waits (in a middleware, or for a target).
 */
export class UpstreamRuntime {
  readonly config: UpstreamConfig;
  readonly state: UpstreamState;

  constructor(config: UpstreamConfig, state: UpstreamState) {
    this.config = config;
    this.state = state;
  }

  /** The targets in service now. */
  get targets(): readonly TargetRuntime[] {
    return this.state.targets;
  }

  /** Chooses a target for one exchange, skipping those in `exclude`. */
  pick(key: string | undefined, exclude?: ReadonlySet<string>): TargetRuntime | undefined {
    return this.state.balancer.pick(key === undefined ? {} : { key }, exclude);
  }

  /** The keep-alive HTTP/1.1 pool towards a target. */
  h1Pool(target: TargetRuntime): H1Pool {
    return target.h1Pool();
  }

  /** A connected HTTP/2 connection towards a target (see TargetRuntime.h2Connection). */
  h2Connection(target: TargetRuntime): Promise<H2Connection> {
    return target.h2Connection();
  }

  /** HTTP/2 sockets towards a target (or all targets) now, open or closing. */
  h2SocketCount(targetId?: string): number {
    let n = 0;
    for (const target of this.state.targets) {
      if (targetId === undefined || target.id === targetId) n += target.h2SocketCount;
    }
    return n;
  }
}
