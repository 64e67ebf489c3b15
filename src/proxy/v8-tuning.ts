import v8 from 'node:v8';

let tuned = false;

/**
 * Turns off V8's allocation-site pretenuring for the gateway's process.
 *
 * Pretenuring allocates objects from a site straight into the old generation
 * once enough of them have survived a scavenge. On a gateway every
 * per-request object (the parsed head, the exchange, the relay's closures)
 * lives a millisecond, but the few caught in flight by each scavenge are
 * enough for V8 to pretenure their sites; the old generation then fills with
 * request garbage, every scavenge has to scan the pointers from it, and
 * scavenges took 4-5 ms instead of under 1 ms. Measured with wrk at
 * saturation (bench/proxy/README.md): p99 8 ms became 3.5 ms, and requests
 * per second rose about 10%. Unlike `--no-memory-reducer` this flag can be
 * set at run time: V8 reads it at each allocation-site decision.
 *
 * Only an `http` listener sets it: that is where requests churn. A
 * gRPC-only gateway keeps V8's default, under which its calls measured
 * 0.89-0.95x of direct against 0.83-0.86x without pretenuring (the same CPU
 * per call; the rate there is bound by round trips).
 */
export function tuneV8ForGateway(): void {
  if (tuned) return;
  tuned = true;
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
