/**
 * Start-up time of the gw binary against bare Node.
 *
 * Runs `node -e 0` (the reference: the cost of starting Node itself),
 * `node bin/gw.js --help` and `node bin/gw.js tcp-echo --help` interleaved,
 * one of each per round, so that drift in machine load hits all three alike.
 * Reports the median wall time of each and its ratio to `node -e 0`.
 * Goal: every gw command under 1.5x.
 *
 *   npm run build && node --import tsx bench/startup.ts [--runs N] [--warmups N]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeEnvironment, environment } from './lib/environment.js';
import { median, quantile, round } from './lib/median.js';
import { table, verdict } from './lib/table.js';
import { intFlag } from './lib/int-flag.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/gw.js', import.meta.url));
const DIST_MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/** The goal: a gw command starts in under this multiple of `node -e 0`. */
const GOAL_RATIO = 1.5;

interface Subject {
  name: string;
  args: readonly string[];
  /** Text the output must contain, so a broken build cannot pass as fast. */
  expect: string;
}

const SUBJECTS: readonly Subject[] = [
  { name: 'node -e 0', args: ['-e', '0'], expect: '' },
  { name: 'gw --help', args: [BIN, '--help'], expect: 'Usage: gw' },
  { name: 'gw tcp-echo --help', args: [BIN, 'tcp-echo', '--help'], expect: 'Usage: gw tcp-echo' },
];

/** Runs one subject once; returns its wall time in milliseconds. Throws when it fails. */
function timeOnce(subject: Subject): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(process.execPath, subject.args, {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 30_000,
  });
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.error) throw result.error;
  if (result.status !== 0 || !result.stdout.includes(subject.expect)) {
    throw new Error(
      `${subject.name} failed (exit ${String(result.status)}): ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return elapsedMs;
}

function main(): void {
  if (!existsSync(DIST_MAIN)) {
    process.stderr.write(
      `bench/startup: ${DIST_MAIN} is missing; run \`npm run build\` first (this benchmark times the built CLI)\n`,
    );
    process.exitCode = 1;
    return;
  }
  const runs = intFlag('--runs', 20);
  const warmups = intFlag('--warmups', 3);
  const env = environment();
  console.log(`startup: ${runs} runs each after ${warmups} warm-ups, interleaved`);
  console.log(describeEnvironment(env));

  const times = SUBJECTS.map((): number[] => []);
  for (let pass = 0; pass < warmups + runs; pass++) {
    SUBJECTS.forEach((subject, i) => {
      const ms = timeOnce(subject);
      if (pass >= warmups) times[i]?.push(ms);
    });
  }

  const baseline = median(times[0] ?? []);
  const results = SUBJECTS.map((subject, i) => {
    const samples = times[i] ?? [];
    const medianMs = median(samples);
    return {
      name: subject.name,
      medianMs,
      p10Ms: quantile(samples, 0.1),
      p90Ms: quantile(samples, 0.9),
      overheadMs: medianMs - baseline,
      ratio: medianMs / baseline,
    };
  });

  const rows = results.map((r, i) => [
    r.name,
    r.medianMs.toFixed(1),
    `${r.p10Ms.toFixed(1)}-${r.p90Ms.toFixed(1)}`,
    i === 0 ? '' : `+${r.overheadMs.toFixed(1)}`,
    `${r.ratio.toFixed(2)}x`,
    i === 0 ? 'reference' : `${verdict(r.ratio < GOAL_RATIO)} (< ${GOAL_RATIO}x)`,
  ]);
  console.log();
  console.log(
    table(['command', 'median ms', 'p10-p90 ms', 'vs node', 'ratio', 'goal'], rows, [
      'left',
      'right',
      'right',
      'right',
      'right',
      'left',
    ]),
  );
  console.log();
  console.log(
    JSON.stringify({
      bench: 'startup',
      ...env,
      runs,
      warmups,
      goalRatio: GOAL_RATIO,
      results: results.map((r) => ({
        name: r.name,
        medianMs: round(r.medianMs),
        p10Ms: round(r.p10Ms),
        p90Ms: round(r.p90Ms),
        ratio: round(r.ratio, 3),
      })),
    }),
  );
}

main();
