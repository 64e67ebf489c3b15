import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { isGwError, toGwError, type GwError } from '../../shared/errors.js';
import type { ConfigRevision, ConfigSource, ConfigWatcher } from './config-source.js';
import { readConfigFile, loadConfigText } from './load.js';
import type { ProxyConfig } from './types.js';

/** Changes to the file within this long of each other are read once, after the last. */
const DEBOUNCE_MS = 200;

/** Hex digits of the SHA-256 kept in a revision's name: enough to tell revisions apart. */
const REVISION_HEX = 12;

/**
 * A config file as a {@link ConfigSource}. Its revision is the SHA-256 of
 * the file's bytes and of the TLS certificates and keys it names
 * (`sha256:1f2e3d4c5b6a`): the same content is the same revision, and a
 * renewed certificate is a new one. `watch` watches the file's directory,
 * not the file, so an editor that writes a new file and renames it over the
 * old one is seen too; changes are debounced, and only a revision that
 * differs from the last one read is reported. (SIGHUP reads the file again
 * through {@link load}, whatever changed.)
 */
export class FileConfigSource implements ConfigSource {
  readonly label: string;
  private readonly path: string;
  private readonly debounceMs: number;
  private readonly watchers = new Set<() => void>();
  /** The revision `load` read last: a watch reports only what differs from it. */
  private loaded: string | undefined;

  constructor(path: string, options: { readonly debounceMs?: number } = {}) {
    this.path = path;
    this.label = path;
    this.debounceMs = options.debounceMs ?? DEBOUNCE_MS;
  }

  async load(): Promise<ConfigRevision> {
    const candidate = await this.read();
    if (candidate.error !== undefined) throw candidate.error;
    this.loaded = candidate.revision;
    return { config: candidate.config, revision: candidate.revision, text: candidate.text };
  }

  watch(watcher: ConfigWatcher): () => void {
    // Read last (valid or not): a change event that leaves the content as it was is no news.
    let last = this.loaded;
    let timer: NodeJS.Timeout | undefined;
    let reading: Promise<void> | undefined;
    let again = false;
    let stopped = false;
    const check = async (): Promise<void> => {
      const candidate = await this.read().catch((err: unknown) => ({
        revision: undefined,
        error: toGwError(err),
      }));
      if (stopped || candidate.revision === last) return;
      last = candidate.revision;
      if (candidate.error === undefined)
        watcher.revision({
          config: candidate.config,
          revision: candidate.revision,
          text: candidate.text,
        });
      else watcher.invalid(candidate.error, candidate.revision);
    };
    // One read at a time; a change during a read is read again after it.
    const fire = (): void => {
      timer = undefined;
      if (reading !== undefined) {
        again = true;
        return;
      }
      reading = check().finally(() => {
        reading = undefined;
        if (again && !stopped) {
          again = false;
          fire();
        }
      });
    };
    const name = basename(this.path);
    const onChange = (_event: string, file: string | Buffer | null): void => {
      // Some platforms do not say which file changed: read it anyway.
      if (file !== null && file.toString() !== name) return;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(fire, this.debounceMs);
    };
    let fsWatcher: FSWatcher | undefined;
    try {
      fsWatcher = watch(dirname(this.path), { persistent: false }, onChange);
      // The directory went away, say: no more events, and never a crash.
      fsWatcher.on('error', () => fsWatcher?.close());
    } catch (err) {
      watcher.invalid(toGwError(err), undefined);
    }
    const stop = (): void => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      fsWatcher?.close();
      this.watchers.delete(stop);
    };
    this.watchers.add(stop);
    return stop;
  }

  close(): Promise<void> {
    for (const stop of [...this.watchers]) stop();
    return Promise.resolve();
  }

  /** Reads and validates the file; its revision is known whenever its bytes could be read. */
  private async read(): Promise<Candidate> {
    let text: string;
    try {
      text = await readConfigFile(this.path);
    } catch (err) {
      return { revision: undefined, error: toGwError(err) };
    }
    const hash = createHash('sha256').update(text);
    try {
      const config = await loadConfigText(text, this.path);
      await hashTlsFiles(hash, config);
      const source = { body: text, source: this.path };
      return { config, revision: revisionOf(hash), text: source, error: undefined };
    } catch (err) {
      if (!isGwError(err)) throw err;
      return { revision: revisionOf(hash), error: err };
    }
  }
}

type Candidate =
  | {
      readonly config: ProxyConfig;
      readonly revision: string;
      readonly text: { readonly body: string; readonly source: string };
      readonly error: undefined;
    }
  | { readonly revision: string | undefined; readonly error: GwError };

function revisionOf(hash: ReturnType<typeof createHash>): string {
  return `sha256:${hash.digest('hex').slice(0, REVISION_HEX)}`;
}

/** Adds the TLS files of every listener to the digest (validation has just read them). */
async function hashTlsFiles(
  hash: ReturnType<typeof createHash>,
  config: ProxyConfig,
): Promise<void> {
  for (const listener of config.listeners) {
    if (listener.protocol === 'tcp' || listener.tls === undefined) continue;
    for (const path of [listener.tls.cert, listener.tls.key]) {
      hash.update(`\0${path}\0`);
      hash.update(await readFile(path).catch(() => Buffer.alloc(0)));
    }
  }
}
