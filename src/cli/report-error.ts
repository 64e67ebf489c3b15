import { toGwError } from '../shared/errors.js';

/**
 * The one place where an error becomes output: one line on stderr naming
 * what failed, the stable code, and how to fix it, and the exit code
 * (2 bad usage or input, 1 runtime failure) in `process.exitCode`.
 */
export function printError(err: unknown, prefix = 'gw'): void {
  const error = toGwError(err);
  const hint = error.hint === undefined ? '' : `; ${error.hint}`;
  process.stderr.write(`${prefix}: ${error.message} [${error.code}]${hint}\n`);
  if (error.code === 'GW_ERR_INTERNAL' && process.env.GW_DEBUG !== undefined) {
    process.stderr.write(`${String((error.cause as Error | undefined)?.stack)}\n`);
  }
  process.exitCode = error.exitCode;
}
