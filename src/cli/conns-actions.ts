import type { Sources } from '../conns/collect.js';
import { connsOptions, type ConnsFlags, type ConnsOptions } from '../conns/options.js';
import { palettePaint, plainPaint, type Paint } from '../conns/paint.js';
import { cancelEarlyCopies, prefetchTables, takeEarlyCopies } from '../conns/read-parallel.js';
import type { Output } from '../conns/run-conns.js';
import { wantsColor } from './color.js';
import { untilSignal } from './commander-setup.js';

/*
 * The work behind `gw conns`, imported only when it runs, so that
 * `gw conns --help` loads nothing but commander. The rest of the command is
 * imported once the flags are valid; for big tables, the tables are
 * already being copied on other cores by then (read-parallel.ts).
 */

/**
 * Colour only on a terminal, and never when NO_COLOR is set
 * (https://no-color.org); chalk is loaded only then.
 */
async function paintFor(stream: NodeJS.WriteStream): Promise<Paint> {
  if (!wantsColor(stream)) return plainPaint;
  const { Chalk } = await import('chalk');
  return palettePaint(new Chalk({ level: 1 }));
}

function sources(options: ConnsOptions): Sources {
  const procRoot = process.env.GW_PROC_ROOT ?? '/proc';
  const live = options.from === undefined && process.platform === 'linux';
  const choice = { protos: options.protos, families: options.families };
  if (!live) cancelEarlyCopies();
  // Copies main() started before the options were known, else copies started now.
  const prefetch = live ? (takeEarlyCopies(choice) ?? prefetchTables(choice, procRoot)) : undefined;
  return {
    procRoot,
    platform: process.platform,
    ...(prefetch === undefined ? {} : { prefetch }),
  };
}

export async function runConnsCommand(flags: ConnsFlags): Promise<void> {
  const options = connsOptions(flags);
  const from = sources(options);
  const output: Output = {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    redraw: process.stdout.isTTY && !options.json,
    paint: options.json ? plainPaint : await paintFor(process.stdout),
  };
  if (options.watchMs === undefined) {
    const { runOnce } = await import('../conns/run-conns.js');
    await runOnce(options, from, output);
    return;
  }
  const stop = new AbortController();
  void untilSignal().then(() => stop.abort());
  const { runWatch } = await import('../conns/run-watch.js');
  await runWatch(options, from, output, stop.signal);
}
