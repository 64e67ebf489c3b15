/**
 * Tolerant readers of a config document not yet validated (the cross-checks
 * run beside the schema, not after it): a wrong shape reads as absent. Pure.
 */

export type Fields = Readonly<Record<string, unknown>>;

/** The value as a mapping, or undefined when it is not one. */
export function fields(value: unknown): Fields | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Fields)
    : undefined;
}

/** The value as a string, or undefined when it is not one. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
