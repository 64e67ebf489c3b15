#!/usr/bin/env node
// Entry point: everything else lives in dist/, built from src/ by `npm run build`
// (run automatically by `npm install` through the prepare script).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2));
