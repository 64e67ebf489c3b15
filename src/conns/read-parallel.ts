/**
 * Reads big socket tables on a second thread. The kernel spends about two
 * microseconds per socket generating /proc/net/tcp text, and tcp6 costs as
 * much again; with tens of thousands of sockets, reading tcp6 on a second
 * core while this thread reads and parses tcp takes some 40 ms off a
 * 200 ms run on a two-core machine. A thread takes about 20 ms to start, so
 * this is done only when /proc/net/sockstat counts many sockets, and it is
 * started as early as the options are known. An edge (threads and files).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  readOptional,
  tableNames,
  type SocketTable,
  type TableChoice,
  type TableName,
  type TablePrefetch,
} from './read-proc.js';

/** From this many TCP sockets in use (and TIME_WAIT) on, tables after the first are read on a thread. */
export const PARALLEL_MIN_SOCKETS = 5000;

/**
 * The worker: reads each file whole (large reads into one growing buffer, as
 * readWhole does) and hands the buffers over without copying them.
 */
const WORKER_SOURCE = `
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const results = [];
for (const file of workerData) {
  try {
    const fd = fs.openSync(file, 'r');
    let buffer = Buffer.allocUnsafeSlow(1 << 23);
    let length = 0;
    try {
      for (;;) {
        if (buffer.length - length < 1 << 20) {
          const bigger = Buffer.allocUnsafeSlow(buffer.length * 2);
          buffer.copy(bigger, 0, 0, length);
          buffer = bigger;
        }
        const n = fs.readSync(fd, buffer, length, 1 << 20, null);
        if (n === 0) break;
        length += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    results.push({ data: buffer.buffer, length });
  } catch {
    results.push({ data: null, length: 0 });
  }
}
parentPort.postMessage(results, results.flatMap((r) => (r.data ? [r.data] : [])));
`;

interface WorkerResult {
  data: ArrayBuffer | null;
  length: number;
}

/** Reads `files` on a worker thread: each text (latin1: /proc writes ASCII), or undefined. */
export function readInWorker(files: readonly string[]): Promise<(string | undefined)[]> {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: files });
  } catch (err) {
    // No thread to be had (a permission model that forbids them): the caller reads here.
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  worker.unref();
  return new Promise((resolve, reject) => {
    worker.once('message', (results: WorkerResult[]) => {
      resolve(
        results.map((r) =>
          r.data === null ? undefined : Buffer.from(r.data, 0, r.length).toString('latin1'),
        ),
      );
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      reject(new Error(`the table reader thread exited with ${code} before it answered`));
    });
  });
}

/** TCP sockets in use plus TIME_WAIT in this namespace (/proc/net/sockstat), 0 when unknown. */
export function socketsInUse(procRoot: string): number {
  try {
    const text = fs.readFileSync(path.join(procRoot, 'net', 'sockstat'), 'latin1');
    const tcp = /^TCP: inuse (\d+).* tw (\d+)/m.exec(text);
    return tcp === null ? 0 : Number(tcp[1]) + Number(tcp[2]);
  } catch {
    return 0;
  }
}

/**
 * Starts reading every table but the first on a worker thread, when the
 * tables are big enough for that to pay; undefined otherwise. Should the
 * thread fail, the tables are read on this thread instead.
 */
export function prefetchTables(choice: TableChoice, procRoot: string): TablePrefetch | undefined {
  const rest = tableNames(choice)
    .slice(1)
    .map((t) => ({ ...t, source: path.join(procRoot, 'net', t.name) }));
  if (rest.length === 0 || socketsInUse(procRoot) < PARALLEL_MIN_SOCKETS) return undefined;
  const found = (texts: readonly (string | undefined)[]): SocketTable[] =>
    rest.flatMap((t, i) => {
      const text = texts[i];
      return text === undefined ? [] : [{ ...t, text }];
    });
  const tables = readInWorker(rest.map((t) => t.source)).then(found, () =>
    found(rest.map((t) => readOptional(t.source))),
  );
  return { names: new Set<TableName>(rest.map((t) => t.name)), tables };
}
