/**
 * The gateway config file as users write it, and its validation into the
 * resolved {@link ProxyConfig}. Pure: no file system, no sockets; `load.ts`
 * reads the file and checks that the files it names exist.
 *
 * Validation runs in two passes over the same document and reports every
 * problem at once: the zod schema below checks each field on its own (type,
 * range, format, unknown keys), and `cross-checks.ts` checks fields against
 * each other (references, duplicates, settings that only fit some protocols).
 */
import { z } from 'zod';
import { millis } from './schema-parts.js';
import { configError } from '../../shared/errors.js';
import { discoverySchema } from '../discovery/schema.js';
import { crossChecks } from './cross-checks.js';
import { isHttpToken } from './http-token.js';
import { breakerSchema } from '../breaker/schema.js';
import { laterSettings, notYet } from './not-yet.js';
import { healthCheckSchema, panicThresholdSchema } from '../health/schema.js';
import { FEATURES } from '../middleware/features.js';
import type { FeaturePlace } from '../middleware/feature.js';
import { HASH_KEY_ALLOWED, parseHashKey } from './parse-hash-key.js';
import { parseCidr } from './parse-cidr.js';
import { parseHostPort, type HostPortOptions, type Parsed } from './parse-host-port.js';
import { placeIssues, rawIssue } from './raw-issue.js';
import { normalizePath } from '../routing/normalize-path.js';
import { resolveConfig } from './resolve.js';
import { BALANCE_NAMES, type ProxyConfig } from './types.js';
import type { Locator } from './yaml-locator.js';
import { zodIssues } from './zod-issues.js';
import { outlierSchema } from '../health/outlier-schema.js';
import { consumersSchema } from '../middleware/auth/consumers.js';
import { sheddingSchema } from '../middleware/priority/schema.js';
import { storeSchema } from '../store/schema.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A string checked by `check`, which returns the problem or undefined. */
function checked(check: (text: string) => string | undefined) {
  return z.string().superRefine((text, ctx) => {
    const problem = check(text);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
}

/** A string parsed by `parse` into a value, or rejected with the parser's problem. */
function parsed<T>(parse: (text: string) => Parsed<T>) {
  return z.string().transform((text, ctx) => {
    const result = parse(text);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.problem });
    return z.NEVER;
  });
}

const name = checked((text) => (NAME.test(text) ? undefined : 'not a valid name')).describe(
  'letters, digits, ".", "_" and "-", starting with a letter or digit',
);
const reference = z.string().min(1).describe('the name of an upstream defined under upstreams');
const bytes = (min: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(Number.MAX_SAFE_INTEGER)
    .describe(min === 0 ? 'a whole number of bytes, 0 for no limit' : 'a whole number of bytes');
const urlPath = checked((text) =>
  !text.startsWith('/')
    ? 'must start with /'
    : /[\s?#]/.test(text)
      ? 'must not contain spaces, ? or #'
      : normalizePath(text) !== text
        ? // Requests are matched on their normalised path, so no other form could ever match.
          `must be in normal form, as request paths are normalised before matching: ${normalFormOf(text)}`
        : undefined,
).describe('a URL path starting with /, without query');

function normalFormOf(text: string): string {
  const normal = normalizePath(text);
  return typeof normal === 'string' ? `write ${normal}` : normal.refused;
}

function hostPort(options: HostPortOptions) {
  const ports = options.allowPortZero ? 'port 0–65535 (0: any free port)' : 'port 1–65535';
  return parsed((text) => parseHostPort(text, options)).describe(
    `host:port or [IPv6]:port, ${ports}`,
  );
}

const hostPattern = checked((text) => {
  const bare = text.startsWith('*.') ? text.slice(2) : text;
  if (bare.includes('*')) return 'only a leading "*." wildcard is supported';
  if (!bare.startsWith('[') && bare.includes(':')) return 'the port is not part of a host match';
  const result = parseHostPort(`${bare}:1`, { allowPortZero: false });
  return result.ok ? undefined : result.problem;
})
  .transform((text) => text.toLowerCase())
  .describe('a host name, *.domain (one label) or an IP address, without port');

const pathRegex = checked((text) => {
  try {
    new RegExp(text);
    return undefined;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return `invalid regular expression: ${reason.replace(/^Invalid regular expression: /, '')}`;
  }
}).describe('a JavaScript regular expression');

const method = checked((text) => (isHttpToken(text) ? undefined : 'not a method name'))
  .transform((text) => text.toUpperCase())
  .describe('HTTP method names such as GET, POST');

/**
 * Header name → exact value, into a null-prototype map. Not `z.record`: zod
 * skips a `__proto__` key unchecked (the route would match without that
 * condition), and `in` on a plain object finds `constructor` already there.
 */
const headerValues = z
  .custom<Readonly<Record<string, unknown>>>(
    (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
    { error: 'must be a mapping' },
  )
  .transform((headers, ctx) => {
    const out = Object.create(null) as Record<string, string>;
    for (const [key, value] of Object.entries(headers)) {
      const problem = headerProblem(key, value, out);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [key], ...problem });
      else out[key.toLowerCase()] = value as string;
    }
    return out;
  })
  .describe('header name → exact value');

const HEADER_NAME_ALLOWED = "header names: letters, digits and !#$%&'*+-.^_`|~";

/** What is wrong with one `match.headers` entry, given the entries kept so far. */
function headerProblem(
  key: string,
  value: unknown,
  kept: Readonly<Record<string, string>>,
): { message: string; params: { at?: 'key'; allowed: string } } | undefined {
  if (!isHttpToken(key)) {
    return { message: 'not a header name', params: { at: 'key', allowed: HEADER_NAME_ALLOWED } };
  }
  if (typeof value !== 'string') {
    const message = value === null ? 'empty' : 'must be a string';
    return { message, params: { allowed: 'a string (quote numbers and booleans: "2")' } };
  }
  if (kept[key.toLowerCase()] !== undefined) {
    return {
      message: 'the same header twice (names ignore case)',
      params: { allowed: 'each header name once' },
    };
  }
  return undefined;
}

const matchSchema = z.strictObject({
  host: hostPattern.optional(),
  path: urlPath.optional(),
  pathPrefix: urlPath.optional(),
  pathRegex: pathRegex.optional(),
  methods: z.array(method).min(1).describe('a list of HTTP methods such as [GET, POST]').optional(),
  headers: headerValues.optional(),
});

/** Each feature's key, where it may be written (see middleware/features.ts). */
function featureKeys(place: FeaturePlace) {
  return Object.fromEntries(
    FEATURES.filter((f) => f.places.includes(place)).map((f) => [f.key, f.schema.optional()]),
  ) as Record<string, z.ZodOptional<z.ZodType>>;
}

const routeSchema = z.strictObject({
  name: name.optional(),
  match: matchSchema.optional(),
  upstream: reference,
  stripPrefix: z.boolean().optional(),
  rewritePrefix: urlPath.optional(),
  ...featureKeys('route'),
});

const tlsFiles = z.strictObject({
  cert: z.string().min(1).describe('the path of a PEM certificate file'),
  key: z.string().min(1).describe('the path of a PEM private key file'),
});

const listenerSchema = z.strictObject({
  name,
  protocol: z.enum(['http', 'grpc', 'tcp']).describe('http, grpc or tcp'),
  listen: hostPort({ allowPortZero: true }),
  timeouts: z
    .strictObject({
      idleMs: millis.optional(),
      headerMs: millis.optional(),
      bodyMs: millis.optional(),
      bodyMinBytesPerSecond: z
        .number()
        .int()
        .min(0)
        .max(1_000_000_000)
        .describe('a whole number of bytes per second, 0 for no minimum')
        .optional(),
    })
    .optional(),
  routes: z.array(routeSchema).describe('a list of routes').optional(),
  upstream: reference.optional(),
  tls: tlsFiles.optional(),
  limits: z
    .strictObject({
      maxHeaderBytes: bytes(1).optional(),
      maxBodyBytes: bytes(0).optional(),
      bufferBodyBytes: bytes(0).optional(),
    })
    .optional(),
  underscoreHeaders: z.enum(['drop', 'pass', 'refuse']).describe('drop, pass or refuse').optional(),
  trustedProxies: z
    .array(parsed(parseCidr).describe('an IP address or CIDR, such as 10.0.0.0/8 or ::1'))
    .optional(),
  accessLog: z.boolean().optional(),
  maxConnections: z
    .number()
    .int()
    .min(1)
    .max(10_000_000)
    .describe('a whole number of connections, 1 to 10000000')
    .optional(),
  ...laterSettings,
  ...featureKeys('tcp'),
});

/** A target address, keeping the text as written as the target's id. */
const targetAddress = parsed((id) => {
  const address = parseHostPort(id, { allowPortZero: false });
  return address.ok ? { ok: true, value: { id, address: address.value } } : address;
}).describe('host:port or [IPv6]:port, port 1–65535');

/** One target: `host:port` or `{ address, weight }` (also the entries of a discovery file). */
export const targetSchema = z
  .union([
    targetAddress.transform((target) => ({ ...target, weight: 1 })),
    z
      .strictObject({
        address: targetAddress,
        weight: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .describe('a whole number 1–1000000')
          .optional(),
      })
      .transform(({ address, weight }) => ({ ...address, weight: weight ?? 1 })),
  ])
  .describe('"host:port" or { address: host:port, weight: N }');

const upstreamSchema = z.strictObject({
  name,
  balance: z.enum(BALANCE_NAMES).describe(BALANCE_NAMES.join(', ')).optional(),
  hashKey: parsed(parseHashKey).describe(HASH_KEY_ALLOWED).optional(),
  targets: z
    .array(targetSchema)
    .min(1)
    .describe('a list of one or more targets, "host:port" or { address, weight }')
    .optional(),
  timeouts: z
    .strictObject({
      connectMs: millis.optional(),
      headerMs: millis.optional(),
      idleMs: millis.optional(),
    })
    .optional(),
  tls: z.boolean().optional(),
  outlierDetection: outlierSchema.optional(),
  healthCheck: healthCheckSchema.optional(),
  panicThreshold: panicThresholdSchema.optional(),
  circuitBreaker: breakerSchema.optional(),
  discovery: discoverySchema.optional(),
  ...laterSettings,
});

/** The whole file as users write it (see DESIGN.md); strict: unknown keys are errors. */
export const configFileSchema = z.strictObject({
  listeners: z.array(listenerSchema).min(1).describe('a list of listeners'),
  upstreams: z.array(upstreamSchema).describe('a list of upstreams'),
  admin: notYet('admin listener (metrics, status, dashboard)'),
  shedding: sheddingSchema.optional(),
  consumers: consumersSchema.optional(),
  store: storeSchema.optional(),
  shutdownTimeoutMs: millis.optional(),
  ...laterSettings,
});

/** The file after field-level validation, before defaults and cross-references. */
export type ConfigFile = z.output<typeof configFileSchema>;

/**
 * Validates a parsed config document (from YAML or JSON) and resolves it:
 * defaults filled, addresses parsed, references checked, TLS paths made
 * relative to the directory of `source`. Every problem is collected; if there
 * is any, throws one `GW_ERR_CONFIG` {@link ConfigError} (exit 2) listing them
 * all with their paths, and with `source:line:col` when `locate` is given.
 */
export function parseConfig(raw: unknown, source: string, locate?: Locator): ProxyConfig {
  if (raw === null || raw === undefined) {
    const empty = rawIssue(raw, [], 'the config is empty', {
      kind: 'missing',
      allowed: 'a mapping with listeners and upstreams',
    });
    throw configError(source, placeIssues([empty], locate));
  }
  const result = configFileSchema.safeParse(raw);
  const issues = [
    ...(result.success ? [] : zodIssues(result.error.issues, raw, configFileSchema)),
    ...crossChecks(raw),
  ];
  if (!result.success || issues.length > 0) throw configError(source, placeIssues(issues, locate));
  return resolveConfig(result.data, source);
}
