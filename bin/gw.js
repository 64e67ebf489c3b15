#!/usr/bin/env -S node --no-memory-reducer
// --no-memory-reducer: V8's memory reducer shrinks the heap's limits after a few idle
// seconds; a gateway's next burst of large bodies then runs a full mark-compact every
// ~50 ms (bench/proxy, 64 KiB responses after 25 s idle: 8,400-10,000 req/s against
// 14,500-17,500 without the reducer). It can only be set at start-up, hence here; short
// commands do not notice it.
// Entry point: everything else lives in dist/, built from src/ by `npm run build`
// (run automatically by `npm install` through the prepare script).
import module from 'node:module';

// Node 22+ can cache compiled code between runs, which shortens start-up; Node 20 lacks it.
module.enableCompileCache?.();

const { main } = await import('../dist/cli/main.js');
await main(process.argv.slice(2));
