import type { Etcd3, Watcher } from 'etcd3';
import { etcdTargets } from './etcd-values.js';
import type { EtcdDiscovery } from './types.js';
import { ChangingSource } from './changing-source.js';

/** While etcd is unreachable, a read is retried this often. */
const RETRY_MS = 500;

/**
 * Targets from the keys under an etcd prefix: read whole once, then watched.
 * Every watch event (and every reconnect of the watch stream, after which
 * events may have been missed or compacted away) triggers one re-read of the
 * whole prefix, coalesced, so the list is always a consistent snapshot. When
 * etcd is unreachable the last good list is kept and that is logged once;
 * when it returns the list is read again and watching resumes.
 */
export class EtcdSource extends ChangingSource {
  readonly label: string;
  private readonly config: EtcdDiscovery;
  private readonly log: (line: string) => void;
  private client: Etcd3 | undefined;
  private watcher: Watcher | undefined;
  private reading = false;
  private again = false;
  private retry: NodeJS.Timeout | undefined;
  private down: string | undefined;
  private lastProblems = '';
  private closed = false;
  private firstAnswer: (() => void) | undefined;

  constructor(config: EtcdDiscovery, label: string, log: (line: string) => void) {
    super();
    this.config = config;
    this.label = label;
    this.log = log;
  }

  async start(): Promise<void> {
    // Loaded only when an upstream uses etcd: the client brings gRPC and protobuf with it.
    const { etcdClient } = await import('./etcd-client.js');
    if (this.closed) return;
    this.client = etcdClient(this.config.endpoints);
    const first = new Promise<void>((resolve) => (this.firstAnswer = resolve));
    this.watchPrefix();
    this.resync();
    return first;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const watcher = this.watcher;
    this.watcher = undefined;
    await watcher?.cancel().catch(() => undefined);
    this.client?.close();
  }

  private watchPrefix(): void {
    if (this.client === undefined || this.closed) return;
    const watcher = this.client.watch().prefix(this.config.prefix).watcher();
    this.watcher = watcher;
    watcher.on('put', () => this.resync());
    watcher.on('delete', () => this.resync());
    // After a reconnect events may have been missed: read the whole prefix again.
    watcher.on('connected', () => this.resync());
    watcher.on('disconnected', (err: Error) => this.unreachable(err));
    watcher.on('error', (err: Error) => {
      // A cancelled watch (its revision compacted away, say): read again, watch anew.
      if (this.closed || this.watcher !== watcher) return;
      this.log(`watch ended (${err.message}); reading the prefix again and watching anew`);
      void watcher.cancel().catch(() => undefined);
      this.watchPrefix();
      this.resync();
    });
  }

  /** Reads the whole prefix (one read at a time; a change meanwhile reads again after). */
  private resync(): void {
    if (this.closed || this.client === undefined) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    clearTimeout(this.retry);
    const client = this.client;
    client
      .getAll()
      .prefix(this.config.prefix)
      .strings()
      .then(
        (values) => this.take(values),
        (err: unknown) => {
          this.unreachable(err instanceof Error ? err : new Error(String(err)));
          if (!this.closed) this.retry = setTimeout(() => this.resync(), RETRY_MS).unref();
        },
      )
      .finally(() => {
        this.reading = false;
        if (this.again) {
          this.again = false;
          this.resync();
        }
      });
  }

  private take(values: Record<string, string>): void {
    if (this.closed) return;
    if (this.down !== undefined) this.log('reachable again; watching resumed');
    this.down = undefined;
    const { targets, problems } = etcdTargets(values);
    const report = problems.join('; ');
    if (report !== this.lastProblems && report !== '')
      this.log(`skipped invalid values: ${report}`);
    this.lastProblems = report;
    this.publish(targets);
    this.firstAnswer?.();
    this.firstAnswer = undefined;
  }

  private unreachable(err: Error): void {
    if (this.closed || this.down !== undefined) return;
    this.down = err.message;
    const n = this.list().length;
    const keeping = this.answered
      ? `keeping the last good list (${n} target${n === 1 ? '' : 's'})`
      : 'no targets yet';
    this.log(`unreachable (${err.message.split('\n')[0] ?? ''}); ${keeping}; retrying`);
  }
}
