/**
 * Reads a whole-number option such as `--runs 5` (or `--runs=5`) from the
 * command line, or returns `fallback` when it is absent. Exits with code 2 on
 * a value that is not a positive integer, naming the flag.
 */
export function intFlag(name: string, fallback: number, argv = process.argv.slice(2)): number {
  let text: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === name) text = argv[i + 1];
    else if (arg.startsWith(`${name}=`)) text = arg.slice(name.length + 1);
  });
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    process.stderr.write(
      `bench: invalid ${name} ${JSON.stringify(text)}: expected a positive whole number\n`,
    );
    process.exit(2);
  }
  return value;
}
