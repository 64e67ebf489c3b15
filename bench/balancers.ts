/**
 * In-process pick throughput of gw's load balancers, on one thread.
 *
 * Each balancer in src/proxy/balancers gets 10 targets (weights 1..10 for
 * the weighted strategies, which all balancers accept) and is asked for
 * `--picks` targets in a tight loop (default 5 million), timed with
 * `process.hrtime.bigint()`. `hash` is given a key per pick, cycling through
 * 4096 client addresses made once beforehand (so the loop allocates nothing
 * of its own); the others get an empty context. `least-conn` and `p2c` read
 * loads through a Map lookup, all 0: the idle case, where least-conn breaks
 * ties among all ten targets, its slowest path.
 *
 * Two workloads: no `exclude` (the common case the balancers are built for)
 * and `exclude` holding one target (a retry). Runs alternate between
 * balancers, `--reps` rounds (default 5), and the median is reported.
 *
 * **Reference.** A floor: a balancer object whose `pick` returns
 * `targets[i++ % n]`, the cheapest pick a call can make, timed the same way;
 * `vs floor` is its picks/s divided by the balancer's.
 *
 * **Checks.** Every run must return a target on every pick, and over a run
 * every target not excluded must be picked (an excluded one being picked
 * would show as one target too many): a broken balancer cannot pass as fast.
 *
 *   node --import tsx bench/balancers.ts [--picks N] [--reps N]
 */
import { describeEnvironment, environment } from './lib/environment.js';
import { intFlag } from './lib/int-flag.js';
import { median, round } from './lib/median.js';
import { table, thousands } from './lib/table.js';
import { createBalancer } from '../src/proxy/balancers/index.js';
import type { Balancer, BalancerTarget, PickContext } from '../src/proxy/balancers/types.js';
import { BALANCE_NAMES, type BalanceName } from '../src/proxy/config/types.js';

const TARGETS = 10;
const KEY_COUNT = 4096; // a power of two: the loop indexes with a mask
const NAMES: readonly BalanceName[] = BALANCE_NAMES;

interface Row {
  name: string;
  workload: 'plain' | 'exclude-1';
  picksPerSecond: number;
  nsPerPick: number;
  vsFloor: number;
}

/** A seeded PRNG (mulberry32), so every run makes the same random choices. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The cheapest possible pick: the reference every balancer is compared with. */
function floorBalancer(targets: readonly BenchTarget[]): Balancer<BenchTarget> {
  let i = 0;
  return {
    pick: () => targets[i++ % targets.length],
    update: () => undefined,
  };
}

/** A target that knows its position, so a run can count picks in a typed array. */
interface BenchTarget extends BalancerTarget {
  readonly index: number;
}

/**
 * Times `picks` picks and checks them. Contexts are prepared beforehand and
 * indexed with a mask, and picks are counted in a typed array by the
 * target's index, so the loop itself allocates nothing.
 */
function timeRun(
  balancer: Balancer<BenchTarget>,
  contexts: readonly PickContext[],
  picks: number,
  exclude: ReadonlySet<string> | undefined,
): number {
  const counts = new Uint32Array(TARGETS);
  let missing = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < picks; i++) {
    const target = balancer.pick(contexts[i & (KEY_COUNT - 1)] ?? {}, exclude);
    if (target === undefined) missing++;
    else counts[target.index] = (counts[target.index] ?? 0) + 1;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const seen = counts.filter((c) => c > 0).length;
  const expected = TARGETS - (exclude?.size ?? 0);
  if (missing > 0 || seen !== expected) {
    throw new Error(
      `bad run: ${missing} picks returned nothing, ${seen} of ${expected} targets seen`,
    );
  }
  return picks / seconds;
}

function main(): void {
  const picks = intFlag('--picks', 5_000_000);
  const reps = intFlag('--reps', 5);
  const env = environment();
  const targets: BenchTarget[] = Array.from({ length: TARGETS }, (_, i) => ({
    id: `10.0.0.${i + 1}:8080`,
    weight: i + 1,
    index: i,
  }));
  const loads = new Map(targets.map((t) => [t.id, 0]));
  const options = { random: mulberry32(1), load: (id: string) => loads.get(id) ?? 0 };
  const random = mulberry32(2);
  const octet = (): number => Math.floor(random() * 256);
  const keyed: PickContext[] = Array.from({ length: KEY_COUNT }, () => ({
    key: `${octet()}.${octet()}.${octet()}.${octet()}`,
  }));
  const plain: PickContext[] = Array.from({ length: KEY_COUNT }, () => ({}));
  const excludeOne = new Set([targets[3]?.id ?? '']);

  const cases = [
    { name: 'floor', make: () => floorBalancer(targets) },
    ...NAMES.map((name) => ({ name, make: () => createBalancer(name, targets, options) })),
  ];
  const samples = new Map<string, number[]>();
  for (let rep = 0; rep < reps; rep++) {
    for (const workload of ['plain', 'exclude-1'] as const) {
      for (const c of cases) {
        if (c.name === 'floor' && workload === 'exclude-1') continue;
        const contexts = c.name === 'hash' ? keyed : plain;
        const exclude = workload === 'exclude-1' ? excludeOne : undefined;
        const rate = timeRun(c.make(), contexts, picks, exclude);
        const key = `${c.name}/${workload}`;
        samples.set(key, [...(samples.get(key) ?? []), rate]);
      }
    }
  }

  const floor = median(samples.get('floor/plain') ?? [0]);
  const rows: Row[] = [];
  for (const workload of ['plain', 'exclude-1'] as const) {
    for (const name of NAMES) {
      const rate = median(samples.get(`${name}/${workload}`) ?? [0]);
      rows.push({
        name,
        workload,
        picksPerSecond: rate,
        nsPerPick: 1e9 / rate,
        vsFloor: floor / rate,
      });
    }
  }

  console.log(describeEnvironment(env));
  console.log(
    `${TARGETS} targets, ${thousands(picks)} picks per run, median of ${reps} runs; ` +
      `floor (targets[i++ % n]): ${thousands(floor)} picks/s\n`,
  );
  console.log(
    table(
      ['balancer', 'exclude', 'picks/s', 'ns/pick', 'vs floor'],
      rows.map((r) => [
        r.name,
        r.workload === 'plain' ? 'none' : '1 target',
        thousands(r.picksPerSecond),
        r.nsPerPick.toFixed(1),
        `${r.vsFloor.toFixed(1)}x`,
      ]),
      ['left', 'left', 'right', 'right', 'right'],
    ),
  );
  console.log();
  console.log(
    JSON.stringify({
      bench: 'balancers',
      ...env,
      targets: TARGETS,
      picks,
      reps,
      floorPicksPerSecond: Math.round(floor),
      results: rows.map((r) => ({
        ...r,
        picksPerSecond: Math.round(r.picksPerSecond),
        nsPerPick: round(r.nsPerPick),
        vsFloor: round(r.vsFloor, 3),
      })),
    }),
  );
}

main();
