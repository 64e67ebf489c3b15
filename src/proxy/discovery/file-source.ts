import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { errnoOf } from '../../shared/errors.js';
import { formatTargetListIssues, parseTargetList } from './target-list.js';
import type { FileDiscovery } from './types.js';
import { ChangingSource } from './changing-source.js';

/** How often the file is read when no watch event came (a missed event, a network file system). */
export const FILE_POLL_MS = 500;
/** Events arrive in bursts (truncate, write, rename): read once after the burst. */
const DEBOUNCE_MS = 30;

/**
 * Targets from a YAML/JSON file, re-read when it changes: `fs.watch` on its
 * directory (so an editor's or `mv`'s replacing rename is seen, not only an
 * in-place write), debounced, plus a poll every {@link FILE_POLL_MS} in case
 * an event is missed; a change applies within one second. An invalid or
 * missing file is logged with its place and the last good list is kept.
 */
export class FileSource extends ChangingSource {
  readonly label: string;
  private readonly config: FileDiscovery;
  private readonly log: (line: string) => void;
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private lastText: string | undefined;
  /** The problem last logged, so each is logged once until it changes. */
  private lastProblem: string | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(config: FileDiscovery, label: string, log: (line: string) => void) {
    super();
    this.config = config;
    this.label = label;
    this.log = log;
  }

  async start(): Promise<void> {
    const name = basename(this.config.path);
    try {
      this.watcher = watch(dirname(this.config.path), { persistent: false }, (_event, file) => {
        if (file === null || file === name) this.soon();
      });
      this.watcher.on('error', () => undefined);
    } catch (err) {
      this.problem(
        `cannot watch ${dirname(this.config.path)} (${errnoOf(err) ?? String(err)}); reading it every ${FILE_POLL_MS} ms`,
      );
    }
    this.poll = setInterval(() => void this.read(), FILE_POLL_MS).unref();
    await this.read();
  }

  close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.debounce);
    return Promise.resolve();
  }

  private soon(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.read(), DEBOUNCE_MS).unref();
  }

  /** Reads the file (one read at a time; a change meanwhile reads it again after). */
  private read(): Promise<void> {
    if (this.reading !== undefined) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.readOnce().finally(() => {
      this.reading = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        void this.read();
      }
    });
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.config.path, 'utf8');
    } catch (err) {
      const code = errnoOf(err);
      const why = code === 'ENOENT' ? 'no such file' : `cannot read it (${code ?? String(err)})`;
      this.problem(`${this.config.path}: ${why}; ${this.keeping()}`);
      this.lastText = undefined;
      if (!this.answered) this.publish([]);
      return;
    }
    if (this.closed || text === this.lastText) return;
    this.lastText = text;
    const parsed = parseTargetList(text);
    if (!parsed.ok) {
      const where = formatTargetListIssues(this.config.path, parsed.issues);
      this.problem(`invalid target list: ${where}; ${this.keeping()}`);
      if (!this.answered) this.publish([]);
      return;
    }
    if (this.lastProblem !== undefined) this.log(`${this.config.path} is valid again`);
    this.lastProblem = undefined;
    this.publish(parsed.targets);
  }

  private keeping(): string {
    const n = this.list().length;
    return this.answered
      ? `keeping the last good list (${n} target${n === 1 ? '' : 's'})`
      : 'no targets yet';
  }

  private problem(line: string): void {
    if (line === this.lastProblem) return;
    this.lastProblem = line;
    this.log(line);
  }
}
