/**
 * `consumers`: named identities with their credentials (DESIGN.md). API keys
 * are kept as SHA-256 digests (`sha256:<64 hex>`; a plain key is accepted,
 * hashed at load and never kept, with a note that discourages it), Basic
 * passwords as bcrypt hashes (`$2b$...`, checked with bcryptjs). A consumer's
 * `rateLimit` is validated here and carried on the resolved consumer; the
 * rate-limit feature enforces it. Pure.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { limitStoreSchema, type LimitStoreKind } from '../../store/schema.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const SHA256 = /^sha256:[0-9a-fA-F]{64}$/;
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

/** A consumer after validation: digests only, never a plain credential. */
export interface ConsumerConfig {
  readonly name: string;
  /** SHA-256 digests (lower-case hex) of the consumer's API keys. */
  readonly apiKeyDigests: readonly string[];
  /** How many keys were written in plain text (a config note discourages it). */
  readonly plainApiKeys: number;
  readonly basic?: { readonly username: string; readonly passwordHash: string };
  /** The consumer's own rate limit; enforced by the rate-limit feature. */
  readonly rateLimit?: {
    readonly rps: number;
    readonly burst?: number | undefined;
    /** Where it is counted: this process (default) or the top-level store, shared. */
    readonly store?: LimitStoreKind | undefined;
  };
}

/** The SHA-256 digest of a credential, lower-case hex. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

const apiKey = z
  .string()
  .min(1)
  .superRefine((text, ctx) => {
    // Pointed at, never shown: the value may be a key.
    if (text.startsWith('sha256:') && !SHA256.test(text))
      ctx.addIssue({
        code: 'custom',
        message: 'a "sha256:" key must be followed by 64 hex digits',
        params: { at: 'key' },
      });
  })
  .describe('"sha256:<64 hex digits>" (the SHA-256 of the key), or the key itself (discouraged)');

const consumerSchema = z.strictObject({
  name: z
    .string()
    .regex(NAME, 'not a valid name')
    .describe('letters, digits, ".", "_" and "-", starting with a letter or digit'),
  apiKeys: z
    .array(apiKey)
    .min(1)
    .describe('a list of API keys or their SHA-256 digests')
    .optional(),
  basic: z
    .strictObject({
      username: z
        .string()
        .min(1)
        .refine((u) => !u.includes(':'), { error: 'a Basic username cannot contain ":"' })
        .describe('a user name without ":"'),
      passwordHash: z
        .string()
        .regex(BCRYPT, 'not a bcrypt hash')
        .describe('a bcrypt hash such as $2b$10$... (never the password itself)'),
    })
    .optional(),
  rateLimit: z
    .strictObject({
      rps: z.number().positive().max(1_000_000_000).describe('requests per second, above 0'),
      burst: z
        .number()
        .int()
        .min(0)
        .max(1_000_000_000)
        .describe('a whole number of requests, 0 or more')
        .optional(),
      store: limitStoreSchema.optional(),
    })
    .optional(),
});

/** The `consumers` list: names, usernames and keys each used once. */
export const consumersSchema = z
  .array(consumerSchema)
  .superRefine((list, ctx) => {
    const names = new Set<string>();
    const users = new Set<string>();
    const keys = new Set<string>();
    list.forEach((c, i) => {
      if (names.has(c.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'the same consumer twice' });
      names.add(c.name);
      if (c.basic !== undefined) {
        if (users.has(c.basic.username))
          ctx.addIssue({
            code: 'custom',
            path: [i, 'basic', 'username'],
            message: 'a username another consumer has',
          });
        users.add(c.basic.username);
      }
      (c.apiKeys ?? []).forEach((key, k) => {
        const digest = digestOf(key);
        // Never echo the key: the message names its place only.
        if (keys.has(digest))
          ctx.addIssue({
            code: 'custom',
            path: [i, 'apiKeys', k],
            message: 'a key used twice',
            params: { at: 'key' },
          });
        keys.add(digest);
      });
    });
  })
  .describe('a list of consumers: { name, apiKeys, basic, rateLimit }');

function digestOf(key: string): string {
  return SHA256.test(key) ? key.slice(7).toLowerCase() : sha256Hex(key);
}

/** The consumers as the gateway keeps them: digests, defaults filled. */
export function resolveConsumers(
  list: z.output<typeof consumersSchema> | undefined,
): readonly ConsumerConfig[] {
  return (list ?? []).map((c) => ({
    name: c.name,
    apiKeyDigests: (c.apiKeys ?? []).map(digestOf),
    plainApiKeys: (c.apiKeys ?? []).filter((k) => !SHA256.test(k)).length,
    ...(c.basic === undefined ? {} : { basic: c.basic }),
    ...(c.rateLimit === undefined ? {} : { rateLimit: c.rateLimit }),
  }));
}
