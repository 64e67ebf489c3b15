/**
 * Reads a text option such as `--url ws://...` (or `--url=...`) from the
 * command line, or returns `fallback`; exits with code 2 when it is required
 * and absent. Whole numbers are read with `intFlag` from bench/lib.
 */
export function stringFlag(name: string, fallback?: string, argv = process.argv.slice(2)): string {
  let text: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === name) text = argv[i + 1];
    else if (arg.startsWith(`${name}=`)) text = arg.slice(name.length + 1);
  });
  const value = text ?? fallback;
  if (value === undefined) {
    process.stderr.write(`bench: ${name} is required\n`);
    process.exit(2);
  }
  return value;
}

/** True when the bare switch `name` is on the command line. */
export function boolFlag(name: string, argv = process.argv.slice(2)): boolean {
  return argv.includes(name);
}
