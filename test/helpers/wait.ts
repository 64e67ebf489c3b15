/** Bounded waiting for tests: every wait ends, in success or in an error. */

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Resolves once `check` returns true, polling every 10 ms; rejects with
 * "`what` not met within `ms` ms" when it still fails after `ms` (4 s by
 * default). The bound is a failure, not an assertion about speed.
 */
export async function until(check: () => boolean, ms = 4000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await sleep(10);
  }
}
