/**
 * The `discovery` setting of an upstream as users write it (one of `file`,
 * `dns`, `etcd`), and its resolution into {@link DiscoveryConfig}. Pure: no
 * file system, no sockets. `targets` and `discovery` exclude each other
 * (checked in `cross-checks.ts`, which calls {@link discoveryCrossChecks}).
 */
import { dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { MAX_TIMER_MS } from '../config/schema-parts.js';
import { parseHostPort } from '../config/parse-host-port.js';
import type { RawIssueOptions } from '../config/raw-issue.js';
import { fields, text, type Fields } from '../config/raw-fields.js';
import { DISCOVERY_DEFAULTS, type DiscoveryConfig } from './types.js';

const fileSchema = z.strictObject({
  type: z.literal('file'),
  path: z.string().min(1).describe('a path to a YAML or JSON list of targets'),
});

const serverSchema = z
  .string()
  .transform((text, ctx) => {
    const result = parseHostPort(text, { allowPortZero: false });
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.problem });
    return z.NEVER;
  })
  .describe('host:port of a DNS server, such as 127.0.0.1:53');

const dnsSchema = z.strictObject({
  type: z.literal('dns'),
  name: z
    .string()
    .regex(/^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/)
    .describe('a DNS name, such as api.internal or _http._tcp.api.internal'),
  recordType: z.enum(['A', 'AAAA', 'SRV']).describe('A, AAAA or SRV').optional(),
  port: z.number().int().min(1).max(65535).describe('a port 1–65535').optional(),
  intervalMs: z
    .number()
    .int()
    .min(100)
    .max(MAX_TIMER_MS)
    .describe('a whole number of milliseconds, at least 100')
    .optional(),
  server: serverSchema.optional(),
});

const etcdSchema = z.strictObject({
  type: z.literal('etcd'),
  endpoints: z
    .array(
      z
        .string()
        .regex(/^https?:\/\/[^\s/]+\/?$/)
        .describe('an etcd client URL, such as http://127.0.0.1:2379'),
    )
    .min(1)
    .describe('a list of one or more etcd client URLs'),
  prefix: z.string().min(1).describe('a key prefix, such as /services/api/'),
});

/** `discovery:` on an upstream. */
export const discoverySchema = z
  .discriminatedUnion('type', [fileSchema, dnsSchema, etcdSchema])
  .describe('{ type: file | dns | etcd, ... }');

export type DiscoveryFile = z.output<typeof discoverySchema>;

/**
 * Fills the defaults and makes a file path relative to the config file's
 * directory (as TLS paths are); a config not read from a file keeps it
 * relative to the working directory.
 */
export function resolveDiscovery(d: DiscoveryFile, source: string): DiscoveryConfig {
  switch (d.type) {
    case 'file': {
      const fromFile = !source.startsWith('<') && !/^[a-z][a-z0-9+.-]*:\/\//i.test(source);
      const path = isAbsolute(d.path) || !fromFile ? d.path : join(dirname(source), d.path);
      return { type: 'file', written: d.path, path };
    }
    case 'dns':
      return {
        type: 'dns',
        name: d.name,
        recordType: d.recordType ?? (d.name.startsWith('_') ? 'SRV' : 'A+AAAA'),
        ...(d.port === undefined ? {} : { port: d.port }),
        intervalMs: d.intervalMs ?? DISCOVERY_DEFAULTS.dnsIntervalMs,
        ...(d.server === undefined ? {} : { server: d.server }),
      };
    case 'etcd':
      return { type: 'etcd', endpoints: d.endpoints, prefix: d.prefix };
  }
}

type Add = (segments: readonly PropertyKey[], problem: string, options: RawIssueOptions) => void;

/**
 * Relations the schema cannot see: an upstream has exactly one of `targets`
 * and `discovery`, and DNS A/AAAA discovery needs a port. Tolerant of a
 * malformed document, as every cross-check is.
 */
export function discoveryCrossChecks(u: Fields, at: readonly PropertyKey[], add: Add): void {
  const hasTargets = u.targets !== undefined;
  const discovery = fields(u.discovery);
  if (hasTargets && u.discovery !== undefined) {
    add([...at, 'discovery'], 'an upstream takes targets or discovery, not both', {
      kind: 'conflict',
      at: 'key',
      allowed: 'remove targets (discovery finds them) or remove discovery',
      showValue: false,
    });
  } else if (!hasTargets && u.discovery === undefined) {
    add([...at, 'targets'], 'an upstream needs targets or discovery', {
      kind: 'missing',
      allowed:
        'targets: ["host:port", ...], or discovery: { type: file | dns | etcd, ... } to find them',
    });
  }
  if (discovery === undefined || text(discovery.type) !== 'dns') return;
  const name = text(discovery.name) ?? '';
  const recordType = text(discovery.recordType) ?? (name.startsWith('_') ? 'SRV' : 'A');
  if (recordType !== 'SRV' && discovery.port === undefined) {
    add([...at, 'discovery', 'port'], `DNS ${recordType} records carry no port`, {
      kind: 'missing',
      allowed: "port: the targets' port (or recordType: SRV, whose records carry one)",
    });
  }
  if (recordType === 'SRV' && discovery.port !== undefined) {
    add([...at, 'discovery', 'port'], 'SRV records carry their own port', {
      kind: 'conflict',
      at: 'key',
      allowed: 'remove port, or use recordType: A or AAAA',
    });
  }
}
