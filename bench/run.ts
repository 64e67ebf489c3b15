/**
 * Runs every benchmark in sequence, each in its own Node process so they
 * share no heap, JIT state or garbage, and passes their output through.
 * At the end prints how each one went and one JSON line holding every
 * benchmark's own JSON line. Exits 1 when any benchmark failed (a goal
 * missed is not a failure: it shows in the tables as MISS).
 *
 *   npm run build && npm run bench
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lastJson } from './lib/last-json.js';
import { table } from './lib/table.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST_MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

/** The benchmarks, in the order they run. */
const BENCHES = ['startup', 'framing-decode', 'tcp-echo-e2e'] as const;

interface Outcome {
  name: string;
  code: number | null;
  seconds: number;
  /** The benchmark's last stdout line that parsed as a JSON object. */
  json: unknown;
}

/** Runs `bench/<name>.ts` under tsx, echoing its output as it comes. */
function runBench(name: string): Promise<Outcome> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--import', 'tsx', `bench/${name}.ts`], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    output += text;
    process.stdout.write(text);
  });
  return new Promise((resolve) => {
    child.once('close', (code: number | null) => {
      resolve({
        name,
        code,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        json: lastJson(output),
      });
    });
  });
}

async function main(): Promise<void> {
  if (!existsSync(DIST_MAIN)) {
    process.stderr.write(
      'bench: dist/ is not built; run `npm run build` first (startup and tcp-echo-e2e time the built CLI)\n',
    );
    process.exitCode = 1;
    return;
  }
  const outcomes: Outcome[] = [];
  for (const name of BENCHES) {
    console.log(`\n=== bench/${name}.ts\n`);
    outcomes.push(await runBench(name));
  }
  console.log('\n=== summary\n');
  console.log(
    table(
      ['benchmark', 'result', 'seconds'],
      outcomes.map((o) => [
        o.name,
        o.code === 0 ? 'ok' : `FAILED (exit ${String(o.code)})`,
        o.seconds.toFixed(1),
      ]),
      ['left', 'left', 'right'],
    ),
  );
  console.log();
  console.log(JSON.stringify({ bench: 'all', results: outcomes.map((o) => o.json) }));
  if (outcomes.some((o) => o.code !== 0)) process.exitCode = 1;
}

await main();
