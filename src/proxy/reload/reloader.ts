import {
  ConfigError,
  formatConfigIssue,
  toGwError,
  type ConfigIssue,
  type GwError,
} from '../../shared/errors.js';
import type { ConfigRevision, ConfigSource } from '../config/config-source.js';
import type { ProxyConfig } from '../config/types.js';
import type { Applied } from '../gateway.js';
import { describeChanges } from './config-diff.js';

/** What a reloader puts revisions in force on: a {@link Gateway} (or a test's stand-in). */
export interface ReloadTarget {
  /** `revision` is the whole of what `config` came from (a cluster primary hands on its text). */
  apply(config: ProxyConfig, revision: ConfigRevision): Promise<Applied>;
}

/** How one revision ended. */
export type ReloadOutcome =
  | { readonly kind: 'applied'; readonly revision: string }
  /** The revision in force already: nothing to do. */
  | { readonly kind: 'unchanged'; readonly revision: string }
  /** A newer revision arrived while this one waited: it was never applied. */
  | { readonly kind: 'skipped'; readonly revision: string }
  /** Not valid, or the gateway could not take it (an address in use): the old one serves. */
  | { readonly kind: 'rejected'; readonly revision: string | undefined; readonly error: GwError };

/** How many of a rejected config's issues its log line lists. */
const LISTED_ISSUES = 3;

/**
 * Puts new config revisions in force on a running gateway, one at a time,
 * and logs one line per outcome:
 *
 *     config reloaded: sha256:1f2e3d4c5b6a (2 routes changed; upstream api: 1 target added)
 *     config rejected (sha256:9a8b7c6d5e4f): gw.yaml:12:5: upstreams[0].targets[1]: …; still serving sha256:1f2e3d4c5b6a
 *
 * A revision that arrives while another is being applied waits; if a newer
 * one arrives meanwhile, the waiting one is skipped. The reloader knows
 * nothing of where revisions come from: {@link apply} takes one already
 * validated (a cluster primary can validate once and hand the same revision
 * to every worker), and {@link follow} and {@link pull} connect a source.
 */
export class Reloader {
  private readonly target: ReloadTarget;
  private readonly log: (line: string) => void;
  private current: ConfigRevision;
  private busy = false;
  private waiting: { next: ConfigRevision; done: (outcome: ReloadOutcome) => void } | undefined;

  constructor(target: ReloadTarget, first: ConfigRevision, log: (line: string) => void) {
    this.target = target;
    this.current = first;
    this.log = log;
  }

  /** The revision in force (`sha256:1f2e3d4c5b6a`, `etcd rev 42`). */
  get revision(): string {
    return this.current.revision;
  }

  /** The config in force. */
  get config(): ProxyConfig {
    return this.current.config;
  }

  /** Applies a validated revision after the one being applied, if any; never rejects. */
  apply(next: ConfigRevision): Promise<ReloadOutcome> {
    if (!this.busy) return this.run(next);
    const superseded = this.waiting;
    if (superseded !== undefined) {
      this.log(
        `config skipped: ${superseded.next.revision} (${next.revision} arrived before it was applied)`,
      );
      superseded.done({ kind: 'skipped', revision: superseded.next.revision });
    }
    return new Promise((done) => (this.waiting = { next, done }));
  }

  /**
   * A candidate revision that failed validation (or could not be read):
   * logged, and the one in force keeps serving.
   */
  reject(error: GwError, revision: string | undefined): ReloadOutcome {
    const candidate = revision === undefined ? '' : ` (${revision})`;
    this.log(
      `config rejected${candidate}: ${describeError(error)}; still serving ${this.current.revision}`,
    );
    return { kind: 'rejected', revision, error };
  }

  /** Applies every revision `source` reports from now on; returns the function that stops it. */
  follow(source: ConfigSource): () => void {
    return source.watch({
      revision: (next) => void this.apply(next),
      invalid: (error, revision) => void this.reject(error, revision),
    });
  }

  /** Reads `source` now and applies what it holds (SIGHUP). */
  async pull(source: ConfigSource): Promise<ReloadOutcome> {
    let next: ConfigRevision;
    try {
      next = await source.load();
    } catch (err) {
      return this.reject(toGwError(err), undefined);
    }
    return this.apply(next);
  }

  private async run(next: ConfigRevision): Promise<ReloadOutcome> {
    this.busy = true;
    try {
      return await this.applyOne(next);
    } finally {
      this.busy = false;
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting !== undefined) void this.run(waiting.next).then(waiting.done);
    }
  }

  private async applyOne(next: ConfigRevision): Promise<ReloadOutcome> {
    if (next.revision === this.current.revision) {
      this.log(`config unchanged: ${next.revision} is the one in force`);
      return { kind: 'unchanged', revision: next.revision };
    }
    let applied: Applied;
    try {
      applied = await this.target.apply(next.config, next);
    } catch (err) {
      return this.reject(toGwError(err), next.revision);
    }
    const changes = [...describeChanges(this.current.config, next.config), ...applied.listeners];
    this.current = next;
    const summary = changes.length === 0 ? 'no setting changed' : changes.join('; ');
    this.log(`config reloaded: ${next.revision} (${summary})`);
    return { kind: 'applied', revision: next.revision };
  }
}

/** A rejection in one line: the first issues with their places, or the error's message. */
export function describeError(error: GwError): string {
  if (!(error instanceof ConfigError)) return error.message;
  const listed = error.issues.slice(0, LISTED_ISSUES).map((issue) => placed(error.source, issue));
  const more = error.issues.length - listed.length;
  return more > 0 ? `${listed.join('; ')}; and ${more} more` : listed.join('; ');
}

/** `gw.yaml:12:5: path: problem (got …; allowed …)`, naming the file when no line is known. */
function placed(source: string, issue: ConfigIssue): string {
  const text = formatConfigIssue(source, issue);
  return issue.line === undefined ? `${source}: ${text}` : text;
}
