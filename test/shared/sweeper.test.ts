import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ManualClock } from '../../src/shared/clock.js';
import { Sweeper } from '../../src/shared/sweeper.js';
import { until } from '../helpers/wait.js';

// Sweeper with a ManualClock and tick() called by hand: which task runs when, with no timer
// in the way. The real interval is checked for being there and for never holding the process.

/** A task that records the times it ran at. */
function recorder(): ((nowMs: number) => void) & { runs: number[] } {
  const runs: number[] = [];
  return Object.assign((nowMs: number) => void runs.push(nowMs), { runs });
}

/** Advances `clock` by `stepMs` and ticks, `steps` times. */
function run(sweeper: Sweeper, clock: ManualClock, stepMs: number, steps: number): void {
  for (let i = 0; i < steps; i++) {
    clock.advance(stepMs);
    sweeper.tick();
  }
}

describe('Sweeper', () => {
  it('runs a task only once it is due, then every period after', () => {
    const clock = new ManualClock(1_000);
    const sweeper = new Sweeper(clock);
    const task = recorder();
    const stop = sweeper.every(100, task);
    sweeper.tick();
    clock.advance(99);
    sweeper.tick();
    assert.deepEqual(task.runs, [], 'not before its first period');
    clock.advance(1);
    sweeper.tick();
    sweeper.tick();
    assert.deepEqual(task.runs, [1_100], 'once when due, with the time, not twice in one period');
    run(sweeper, clock, 50, 4);
    assert.deepEqual(task.runs, [1_100, 1_200, 1_300]);
    stop();
  });

  it('runs each task at its own period', () => {
    const clock = new ManualClock();
    const sweeper = new Sweeper(clock);
    const fast = recorder();
    const slow = recorder();
    const stops = [sweeper.every(30, fast), sweeper.every(100, slow)];
    run(sweeper, clock, 10, 30);
    assert.deepEqual(fast.runs, [30, 60, 90, 120, 150, 180, 210, 240, 270, 300]);
    assert.deepEqual(slow.runs, [100, 200, 300]);
    for (const stop of stops) stop();
  });

  it('after a late tick, counts the next period from when the task ran', () => {
    const clock = new ManualClock();
    const sweeper = new Sweeper(clock);
    const task = recorder();
    const stop = sweeper.every(100, task);
    clock.advance(350);
    sweeper.tick();
    assert.deepEqual(task.runs, [350], 'one run for the missed periods, not three');
    run(sweeper, clock, 50, 2);
    assert.deepEqual(task.runs, [350, 450]);
    stop();
  });

  it('gives every task a period of at least 10 ms, in whole milliseconds', () => {
    const clock = new ManualClock();
    const sweeper = new Sweeper(clock);
    const tiny = recorder();
    const zero = recorder();
    const fractional = recorder();
    const stops = [sweeper.every(1, tiny), sweeper.every(0, zero), sweeper.every(15.9, fractional)];
    run(sweeper, clock, 1, 45);
    assert.deepEqual(tiny.runs, [10, 20, 30, 40]);
    assert.deepEqual(zero.runs, [10, 20, 30, 40]);
    assert.deepEqual(fractional.runs, [15, 30, 45]);
    for (const stop of stops) stop();
  });

  it('stop() removes the task; calling it twice does no harm to the others', () => {
    const clock = new ManualClock();
    const sweeper = new Sweeper(clock);
    const a = recorder();
    const b = recorder();
    const stopA = sweeper.every(10, a);
    const stopB = sweeper.every(10, b);
    assert.equal(sweeper.size, 2);
    run(sweeper, clock, 10, 1);
    stopA();
    assert.equal(sweeper.size, 1);
    stopA();
    assert.equal(sweeper.size, 1, 'the second call removes nothing else');
    run(sweeper, clock, 10, 2);
    assert.deepEqual(a.runs, [10], 'a stopped task never runs again');
    assert.deepEqual(b.runs, [10, 20, 30]);
    stopB();
    assert.equal(sweeper.size, 0);
    run(sweeper, clock, 10, 2);
    assert.deepEqual(b.runs, [10, 20, 30]);
  });

  it('an old stop() does not remove the same function registered again after it', () => {
    const clock = new ManualClock();
    const sweeper = new Sweeper(clock);
    const task = recorder();
    const first = sweeper.every(10, task);
    first();
    const second = sweeper.every(10, task);
    first(); // "calling it again does nothing"
    assert.equal(sweeper.size, 1);
    second();
  });

  it('drives its tasks from a real interval when nobody ticks by hand', async () => {
    const sweeper = new Sweeper();
    let fast = 0;
    let slow = 0;
    const stopFast = sweeper.every(10, () => fast++);
    const stopSlow = sweeper.every(20, () => slow++);
    try {
      await until(() => fast >= 2 && slow >= 1, 4000, 'both tasks ran');
      // Stopping the shortest period re-times the interval for the one left.
      stopFast();
      const from = slow;
      await until(() => slow >= from + 2, 4000, 'the slow task still runs');
    } finally {
      stopFast();
      stopSlow();
    }
  });

  it('never keeps the process alive: its interval is unref’d', async () => {
    const sweeperUrl = new URL('../../src/shared/sweeper.ts', import.meta.url).href;
    // A task every 10 ms, a ref'd timer for 200 ms; the child must exit once that timer is done.
    const script = `
      import { Sweeper } from ${JSON.stringify(sweeperUrl)};
      let runs = 0;
      new Sweeper().every(10, () => runs++);
      setTimeout(() => {}, 200);
      process.on('exit', () => console.log('runs=' + runs));
    `;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'hung'>((resolve) => {
      timer = setTimeout(() => resolve('hung'), 10_000);
    });
    const result = await Promise.race([exited, bound]);
    clearTimeout(timer);
    if (result === 'hung') {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      await exited;
      assert.fail('the child with a sweeper task did not exit within 10 s');
    }
    assert.equal(result, 0, err);
    const runs = Number(/runs=(\d+)/.exec(out)?.[1] ?? -1);
    assert.ok(runs >= 1, `the task ran in the child (${out.trim()})`);
  });
});
