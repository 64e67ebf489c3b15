/**
 * The last line of a tool's output that parses as JSON (benchmark scripts
 * print their result as one JSON line after their human-readable text), or
 * null when there is none.
 */
export function lastJson(output: string): unknown {
  const lines = output.split('\n').filter((l) => l.startsWith('{'));
  for (const line of lines.reverse()) {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      // Not a JSON line after all; try the one before.
    }
  }
  return null;
}
