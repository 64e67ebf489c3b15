/**
 * Paths into a config document, as users read them:
 * `listeners[0].routes[2].match.pathRegex`, `match.headers["x-env"]`.
 */

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_VALUE_CHARS = 60;

/** Formats a path; the empty path (the whole document) is the empty string. */
export function configPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** The value at `segments` in a plain parsed document, or undefined when absent. */
export function valueAt(root: unknown, segments: readonly PropertyKey[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (Array.isArray(current) && typeof segment === 'number') current = current[segment];
    else if (typeof current === 'object' && current !== null && !Array.isArray(current)) {
      current = (current as Record<string, unknown>)[String(segment)];
    } else return undefined;
  }
  return current;
}

/**
 * A value rendered short for a message: JSON, cut to 60 characters with an
 * ellipsis. A value JSON cannot render (cyclic, or nested thousands deep
 * through YAML aliases, which `String()` would recurse into as well) is shown
 * as `[…]` or `{…}`.
 */
export function renderValue(value: unknown): string {
  let text: string;
  try {
    text = toJson(value) ?? String(value);
  } catch {
    text =
      typeof value !== 'object' || value === null
        ? String(value)
        : Array.isArray(value)
          ? '[…]'
          : '{…}';
  }
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

/** JSON.stringify, typed as it behaves: undefined for undefined and functions. */
function toJson(value: unknown): string | undefined {
  return JSON.stringify(value);
}
