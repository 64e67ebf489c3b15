/**
 * Where a running gateway's config comes from, and how it hears of a new one:
 * a file (re-read on SIGHUP and when it changes) or an etcd key (watched).
 * `gw proxy` loads the first revision before any port opens; every later
 * revision is validated whole before it is applied, and a bad one is
 * reported (with the field's path) while the last good one keeps serving.
 */
import type { GwError } from '../../shared/errors.js';
import type { ProxyConfig } from './types.js';

/** One validated config and the revision it came from. */
export interface ConfigRevision {
  readonly config: ProxyConfig;
  /**
   * Names the revision in log lines and status: a file's content digest
   * (`sha256:1f2e3d4c5b6a`), an etcd key's `mod_revision` (`etcd rev 42`).
   * Two loads of the same content give the same revision, so a watch that
   * fires without a change can be told apart from one that changed something.
   */
  readonly revision: string;
  /**
   * The text the config was parsed from, and the source name it was parsed
   * under (`loadConfigText(text, source)`): what a `--workers` primary hands
   * its workers, which parse it again into the same config. Unset for a
   * revision made in memory (tests).
   */
  readonly text?: { readonly body: string; readonly source: string };
}

/** What a source reports: a new valid revision, or a candidate that failed validation. */
export interface ConfigWatcher {
  /** A new revision, validated: apply it. */
  readonly revision: (next: ConfigRevision) => void;
  /**
   * A candidate that could not be read or did not validate (GW_ERR_CONFIG with
   * every issue, or GW_ERR_CONFIG_NOT_FOUND): keep serving the last good one.
   * `revision` names the candidate when it is known.
   */
  readonly invalid: (error: GwError, revision: string | undefined) => void;
}

export interface ConfigSource {
  /** Where the config is, for messages: `gw.yaml`, `etcd://127.0.0.1:2379/gw/config`. */
  readonly label: string;
  /** Reads and validates the current revision; throws the GwError when it is missing or bad. */
  load(): Promise<ConfigRevision>;
  /**
   * Starts watching for new revisions (after `load`); returns a function that
   * stops it. A source may report the same revision more than once.
   */
  watch(watcher: ConfigWatcher): () => void;
  /** Ends every watch and connection. */
  close(): Promise<void>;
}
