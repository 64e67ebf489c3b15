#!/usr/bin/env node
// Entry point: everything else lives in dist/, built from src/ by `npm run build`
// (run automatically by `npm install` through the prepare script).
import module from 'node:module';

// Node 22+ can cache compiled code between runs, which shortens start-up; Node 20 lacks it.
module.enableCompileCache?.();

const { main } = await import('../dist/cli/main.js');
await main(process.argv.slice(2));
