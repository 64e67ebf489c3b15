/**
 * A gateway config kept under one etcd key (`etcd://HOST:PORT/KEY`): every
 * gateway instance reads the same key, so they follow one source of truth,
 * and `gw proxy config put` publishes a validated file there. The value is
 * YAML or JSON text, validated exactly as a config file is (TLS and JWT key
 * files included; relative paths start at the working directory of gw).
 */
import type { Etcd3, IKeyValue, IRangeResponse, Watcher } from 'etcd3';
import { configKeyMissing, configUnreachable, GwError, toGwError } from '../../shared/errors.js';
import type { ConfigRevision, ConfigSource, ConfigWatcher } from './config-source.js';
import type { EtcdConfigSpec } from './etcd-config-spec.js';
import { loadConfigText } from './load.js';
import type { ProxyConfig } from './types.js';

/** While etcd is unreachable, a read is retried this often (the watch stream reconnects on its own). */
const RETRY_MS = 500;
/** How long stopping a watch waits for etcd to confirm the cancel. */
const CANCEL_MS = 1000;

export interface EtcdConfigSourceOptions {
  /**
   * Lines about the connection to etcd: lost (once), back, a watch begun
   * again after its history was compacted. None by default.
   */
  readonly log?: (line: string) => void;
}

/** The key's value as read, or its absence, at an etcd revision. */
export interface EtcdConfigText {
  /** The config text; undefined when the key does not exist. */
  readonly text: string | undefined;
  /** The key's `mod_revision` (0 when it does not exist). */
  readonly modRevision: bigint;
  /** The store's revision when it was read: a watch from the next one misses nothing. */
  readonly storeRevision: bigint;
}

/**
 * Reads and watches the config under one etcd key. A revision is named
 * `etcd rev N` after the key's `mod_revision`, which every instance sees
 * alike. See {@link ConfigSource} for the contract.
 */
export class EtcdConfigSource implements ConfigSource {
  readonly label: string;
  readonly spec: EtcdConfigSpec;
  readonly log: (line: string) => void;
  private client: Etcd3 | undefined;
  private readonly followers = new Set<KeyFollower>();
  /** Where the last load read the key: watching starts after it. */
  private loaded: EtcdConfigText | undefined;
  private closed = false;

  constructor(spec: EtcdConfigSpec, options: EtcdConfigSourceOptions = {}) {
    this.spec = spec;
    this.label = spec.label;
    this.log = options.log ?? (() => undefined);
  }

  /**
   * Reads and validates the current value. Throws GW_ERR_CONFIG_NOT_FOUND
   * when the key is missing, GW_ERR_CONFIG (every issue, `etcd://…:LINE:COL`)
   * when it is invalid, GW_ERR_CONFIG_UNREACHABLE when etcd does not answer.
   */
  async load(): Promise<ConfigRevision> {
    const read = await this.read();
    if (read.text === undefined) throw this.missing('the key is not set');
    const config = await loadConfigText(read.text, this.label);
    this.loaded = read;
    const text = { body: read.text, source: this.label };
    return { config, revision: etcdRevision(read.modRevision), text };
  }

  /** The key's raw text and revisions (for `gw proxy config get`); throws GW_ERR_CONFIG_UNREACHABLE. */
  async read(): Promise<EtcdConfigText> {
    const client = await this.connect();
    try {
      return textOf(await client.get(this.spec.key).exec());
    } catch (err) {
      throw this.unreachable(err);
    }
  }

  /**
   * Writes `text` to the key (unless it already holds exactly that); returns
   * the key's revision afterwards and whether it was written. The caller
   * validates first. Throws GW_ERR_CONFIG_UNREACHABLE.
   */
  async put(text: string): Promise<{ readonly revision: string; readonly written: boolean }> {
    const current = await this.read();
    if (current.text === text)
      return { revision: etcdRevision(current.modRevision), written: false };
    const client = await this.connect();
    try {
      const res = await client.put(this.spec.key).value(text).exec();
      return { revision: etcdRevision(BigInt(res.header.revision)), written: true };
    } catch (err) {
      throw this.unreachable(err);
    }
  }

  /**
   * Watches the key from just after the last load (or from now): every new
   * value is validated and reported in revision order, a bad one and a
   * deleted key through `invalid`. The watch outlives etcd restarts (it
   * resumes from the last revision seen, and reads the key again after each
   * reconnect) and compaction (it reads the key again and watches anew).
   */
  watch(watcher: ConfigWatcher): () => void {
    const follower = new KeyFollower(this, watcher, this.loaded);
    this.followers.add(follower);
    if (!this.closed) void follower.start();
    return () => {
      this.followers.delete(follower);
      void follower.stop();
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const followers = [...this.followers];
    this.followers.clear();
    await Promise.all(followers.map((f) => f.stop()));
    this.client?.close();
    this.client = undefined;
  }

  /** The client, made on first use: the etcd library (gRPC, protobuf) loads only for an etcd config. */
  async connect(): Promise<Etcd3> {
    if (this.closed) throw new Error(`the config source ${this.label} is closed`);
    if (this.client === undefined) {
      const { etcdClient } = await import('../discovery/etcd-client.js');
      this.client ??= etcdClient(this.spec.endpoints);
    }
    return this.client;
  }

  missing(problem: string): GwError {
    return configKeyMissing(
      this.label,
      problem,
      `publish one with gw proxy config put ${this.label} FILE`,
    );
  }

  unreachable(err: unknown): GwError {
    return configUnreachable(
      this.label,
      new Error(etcdReason(err), { cause: err }),
      `check that etcd answers at ${this.spec.endpoints.join(', ')} (curl ${this.spec.endpoints[0] ?? ''}/health)`,
    );
  }
}

/** `etcd rev 42`: how a revision of a config in etcd is named in logs and status. */
export function etcdRevision(modRevision: bigint): string {
  return `etcd rev ${modRevision}`;
}

/**
 * The short reason in an etcd client error: gRPC's "14 UNAVAILABLE: No
 * connection established. Last error: Error: connect ECONNREFUSED
 * 127.0.0.1:2379. Resolution note: " becomes "connect ECONNREFUSED 127.0.0.1:2379".
 */
export function etcdReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const last = /Last error: (?:Error: )?(.*?)\.? Resolution note/.exec(message);
  return last?.[1] ?? (message.split('\n')[0] ?? '').trim();
}

function textOf(res: IRangeResponse): EtcdConfigText {
  const kv = res.kvs[0];
  return {
    text: kv?.value.toString('utf8'),
    modRevision: BigInt(kv?.mod_revision ?? 0),
    storeRevision: BigInt(res.header.revision),
  };
}

/** A change of the key waiting to be validated and reported. */
interface Candidate {
  /** The new text, or undefined for a delete. */
  readonly text: string | undefined;
  readonly modRevision: bigint;
}

/**
 * One {@link EtcdConfigSource.watch}: an etcd watch on the key plus a read of
 * the key on every (re)connect, both feeding candidates in revision order.
 * A candidate at or below the last one seen is dropped, so an event and a
 * read of the same change report it once. Candidates are validated one at a
 * time; one that arrives meanwhile waits, and a newer one replaces it.
 */
class KeyFollower {
  private readonly source: EtcdConfigSource;
  private readonly watcher: ConfigWatcher;
  private etcdWatch: Watcher | undefined;
  /** The newest revision taken as a candidate (a put or a delete). */
  private seen: bigint;
  private deleted = false;
  /** Where the next etcd watch starts: one past the newest store revision known. */
  private from: bigint | undefined;
  private validating = false;
  private next: Candidate | undefined;
  private retry: NodeJS.Timeout | undefined;
  private down = false;
  private stopped = false;

  constructor(
    source: EtcdConfigSource,
    watcher: ConfigWatcher,
    loaded: EtcdConfigText | undefined,
  ) {
    this.source = source;
    this.watcher = watcher;
    this.seen = loaded?.modRevision ?? -1n;
    this.from = loaded === undefined ? undefined : loaded.storeRevision + 1n;
  }

  async start(): Promise<void> {
    try {
      const client = await this.source.connect();
      if (!this.stopped) this.watchKey(client);
    } catch {
      // Closed before it began: nothing to watch.
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const current = this.etcdWatch;
    this.etcdWatch = undefined;
    if (current === undefined) return;
    // Cancelling waits for etcd's answer: bounded, should etcd have gone silent.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, CANCEL_MS)));
    await Promise.race([current.cancel().catch(() => undefined), bound]);
    clearTimeout(timer);
  }

  private watchKey(client: Etcd3): void {
    const builder = client.watch().key(this.source.spec.key);
    if (this.from !== undefined) builder.startRevision(String(this.from));
    const current = builder.watcher();
    this.etcdWatch = current;
    current.on('put', (kv: IKeyValue) =>
      this.take({ text: kv.value.toString('utf8'), modRevision: BigInt(kv.mod_revision) }),
    );
    current.on('delete', (kv: IKeyValue) =>
      this.take({ text: undefined, modRevision: BigInt(kv.mod_revision) }),
    );
    // After a reconnect changes may have been missed (the stream resumes after
    // the last revision it heard of, which may be past events not yet delivered): read the key.
    current.on('connected', () => this.resync());
    current.on('disconnected', (err: Error) => this.unreachable(err));
    current.on('error', (err: Error) => {
      // Cancelled by etcd: its start revision was compacted away (etcd gives no
      // reason for that one), or another reason. Read the key and watch anew.
      if (this.stopped || this.etcdWatch !== current) return;
      const reason = err.message.replace(/^Watcher canceled:\s*/, '');
      this.source.log(
        `etcd ended the watch of ${this.source.spec.key} (${reason === '' ? 'its start revision was compacted' : reason}); reading the key again and watching anew`,
      );
      this.from = undefined;
      void current.cancel().catch(() => undefined);
      this.resync(true);
    });
  }

  /** Reads the key; with `rewatch`, starts a new etcd watch just after the read. */
  private resync(rewatch = false): void {
    if (this.stopped) return;
    clearTimeout(this.retry);
    this.source.read().then(
      (read) => {
        if (this.stopped) return;
        if (this.down) this.source.log(`etcd ${this.source.label} answers again`);
        this.down = false;
        // A missing key has no mod_revision: it was deleted at or before the read.
        const at = read.text === undefined ? read.storeRevision : read.modRevision;
        this.take({ text: read.text, modRevision: at });
        if (rewatch) {
          this.from = read.storeRevision + 1n;
          void this.source.connect().then(
            (client) => this.watchKey(client),
            () => undefined,
          );
        }
      },
      (err: unknown) => {
        this.unreachable(err instanceof GwError ? err.cause : err);
        if (!this.stopped) this.retry = setTimeout(() => this.resync(rewatch), RETRY_MS).unref();
      },
    );
  }

  private unreachable(err: unknown): void {
    if (this.stopped || this.down) return;
    this.down = true;
    this.source.log(
      `etcd ${this.source.label} unreachable (${etcdReason(err)}); keeping the current config; retrying`,
    );
  }

  /** A change of the key: dropped when not newer than the last, else validated in turn. */
  private take(candidate: Candidate): void {
    if (this.stopped) return;
    if (candidate.modRevision <= this.seen) return;
    // A missing key read after a delete already taken is the same delete.
    if (candidate.text === undefined && this.deleted) return;
    this.seen = candidate.modRevision;
    this.deleted = candidate.text === undefined;
    if (this.validating) {
      this.next = candidate;
      return;
    }
    void this.report(candidate);
  }

  private async report(candidate: Candidate): Promise<void> {
    this.validating = true;
    const revision = etcdRevision(candidate.modRevision);
    let outcome: ProxyConfig | GwError;
    try {
      outcome =
        candidate.text === undefined
          ? this.source.missing(`the key was deleted at ${revision}`)
          : await loadConfigText(candidate.text, this.source.label);
    } catch (err) {
      outcome = toGwError(err);
    }
    // Outside the try above: a watcher that throws is a bug to surface, not an invalid config.
    try {
      if (this.stopped) return;
      if (outcome instanceof GwError) this.watcher.invalid(outcome, revision);
      else if (candidate.text === undefined) this.watcher.revision({ config: outcome, revision });
      else {
        const text = { body: candidate.text, source: this.source.label };
        this.watcher.revision({ config: outcome, revision, text });
      }
    } finally {
      this.validating = false;
      const next = this.next;
      this.next = undefined;
      if (next !== undefined) void this.report(next);
    }
  }
}
