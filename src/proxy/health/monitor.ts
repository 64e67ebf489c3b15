/**
 * Active health checks of one upstream: every target probed on its own
 * schedule (interval, a faster one while unhealthy, jitter), its verdict set
 * on the target (`TargetRuntime.healthy`, which every protocol path reads
 * through the balancer), the upstream's set in service recomputed once per
 * transition, and each transition logged once with its reason.
 *
 * One monitor per upstream with a `healthCheck`; it outlives config loads
 * (the upstream's state keeps it and hands it new settings), and it follows
 * the target set: a target that remains keeps its verdict and counts, a new
 * one starts unchecked (serving) and is probed at once (see active-state.ts).
 * Timers are unref'd: they never keep the process alive.
 */
import { monotonicClock, type Clock } from '../../shared/clock.js';
import type { TargetRuntime } from '../upstream/target-runtime.js';
import { ActiveHealthState, firstDelayMs, type ProbeResult } from './active-state.js';
import { runProbe, type ProbeAddress } from './probe.js';
import { probeText, type HealthCheckConfig } from './schema.js';

/** What the monitor needs of its upstream (UpstreamState). */
export interface MonitoredUpstream {
  readonly name: string;
  readonly log: (line: string) => void;
  refreshAvailability(nowMs: number): boolean;
}

export interface MonitorOptions {
  readonly clock?: Clock;
  /** [0, 1), for jitter; default Math.random. */
  readonly random?: () => number;
  /** Runs one probe; default the real one (tests may replace it). */
  readonly probe?: (check: HealthCheckConfig, address: ProbeAddress) => Promise<ProbeResult>;
}

interface Entry {
  readonly target: TargetRuntime;
  readonly state: ActiveHealthState;
  timer: NodeJS.Timeout | undefined;
  /** A probe is running (its result is dropped if the entry was removed meanwhile). */
  probing: boolean;
  removed: boolean;
}

export class HealthMonitor {
  private check: HealthCheckConfig;
  private tls: boolean;
  private readonly upstream: MonitoredUpstream;
  private readonly entries = new Map<TargetRuntime, Entry>();
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly probe: NonNullable<MonitorOptions['probe']>;
  private closed = false;

  constructor(
    upstream: MonitoredUpstream,
    check: HealthCheckConfig,
    tls: boolean,
    options: MonitorOptions = {},
  ) {
    this.upstream = upstream;
    this.check = check;
    this.tls = tls;
    this.clock = options.clock ?? monotonicClock;
    this.random = options.random ?? Math.random;
    this.probe = options.probe ?? runProbe;
  }

  /** New settings from a config load; they apply from each target's next probe. */
  configure(check: HealthCheckConfig, tls: boolean): void {
    this.check = check;
    this.tls = tls;
  }

  /** The upstream's targets now: new ones are probed at once, removed ones no more. */
  follow(targets: readonly TargetRuntime[]): void {
    if (this.closed) return;
    const keep = new Set(targets);
    for (const [target, entry] of this.entries) {
      if (keep.has(target)) continue;
      entry.removed = true;
      clearTimeout(entry.timer);
      this.entries.delete(target);
    }
    for (const target of targets) {
      if (this.entries.has(target)) continue;
      const entry: Entry = {
        target,
        state: new ActiveHealthState(),
        timer: undefined,
        probing: false,
        removed: false,
      };
      // A target that was taken out (an earlier monitor) starts over as unchecked and serving.
      target.healthy = true;
      this.entries.set(target, entry);
      this.schedule(entry, firstDelayMs(this.check, this.random));
    }
  }

  /** The verdict of a target, for status and tests. */
  stateOf(target: TargetRuntime): ActiveHealthState | undefined {
    return this.entries.get(target)?.state;
  }

  /**
   * Stops probing. With `release` (the config dropped the health check), every
   * target counts as healthy again and the set in service is recomputed.
   */
  close(release = false): void {
    if (this.closed) return;
    this.closed = true;
    let changed = false;
    for (const entry of this.entries.values()) {
      entry.removed = true;
      clearTimeout(entry.timer);
      if (release && !entry.target.healthy) {
        entry.target.healthy = true;
        changed = true;
      }
    }
    this.entries.clear();
    if (changed) {
      this.upstream.log(
        `upstream ${this.upstream.name}: health checks off; every target counts as healthy`,
      );
      this.upstream.refreshAvailability(this.clock.nowMs());
    }
  }

  private gone(entry: Entry): boolean {
    return entry.removed || this.closed;
  }

  private schedule(entry: Entry, delayMs: number): void {
    entry.timer = setTimeout(() => void this.run(entry), delayMs);
    entry.timer.unref();
  }

  private async run(entry: Entry): Promise<void> {
    entry.timer = undefined;
    if (entry.removed || this.closed) return;
    const check = this.check;
    const { target } = entry;
    const address: ProbeAddress = {
      host: target.address.host,
      port: target.address.port,
      id: target.id,
      tls: this.tls,
    };
    entry.probing = true;
    let result: ProbeResult;
    try {
      result = await this.probe(check, address);
    } catch (err) {
      result = {
        ok: false,
        kind: 'answer',
        reason: err instanceof Error ? err.message : String(err),
      };
    }
    entry.probing = false;
    // Removed or closed while the probe ran: its result is no one's business.
    if (this.gone(entry)) return;
    const transition = entry.state.record(result, check, probeText(check));
    if (transition !== undefined) {
      target.healthy = transition.to === 'healthy';
      const verdict = transition.to === 'healthy' ? 'healthy again' : 'unhealthy';
      this.upstream.log(
        `upstream ${this.upstream.name}: ${target.id} ${verdict}: ${transition.reason}`,
      );
      this.upstream.refreshAvailability(this.clock.nowMs());
    }
    this.schedule(entry, entry.state.nextDelayMs(check, this.random));
  }
}

/**
 * The monitor an upstream should have for `check`: the current one updated,
 * a new one, or none (the current one closed, its verdicts released).
 */
export function syncMonitor(
  current: HealthMonitor | undefined,
  upstream: MonitoredUpstream,
  check: HealthCheckConfig | undefined,
  tls: boolean,
  options?: MonitorOptions,
): HealthMonitor | undefined {
  if (check === undefined) {
    current?.close(true);
    return undefined;
  }
  if (current === undefined) return new HealthMonitor(upstream, check, tls, options);
  current.configure(check, tls);
  return current;
}
