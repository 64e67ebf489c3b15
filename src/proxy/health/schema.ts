/**
 * An upstream's `healthCheck` (active health checks) and `panicThreshold` as
 * users write them, their defaults, and the resolved {@link HealthCheckConfig}
 * the monitor runs. Pure.
 *
 * ```yaml
 * healthCheck: { type: http, path: /healthz, expectStatus: 200-299, intervalMs: 1000 }
 * healthCheck: { type: tcp, send: "PING\r\n", expect: "PONG" }
 * healthCheck: { type: grpc, service: gw.echo.v1.Echo }
 * panicThreshold: 0.5
 * ```
 */
import { z } from 'zod';
import { MAX_TIMER_MS, millis } from '../config/schema-parts.js';
import { isHttpToken } from '../config/http-token.js';

/** The defaults, as documented in the README (`gw proxy`, health checks). */
export const HEALTH_DEFAULTS = {
  method: 'GET',
  path: '/healthz',
  expectStatus: [[200, 299]] as readonly StatusRange[],
  intervalMs: 5_000,
  timeoutMs: 1_000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
  /** Jitter: a tenth of the interval. Unhealthy interval: half the interval. */
  jitterShare: 0.1,
  unhealthyShare: 0.5,
  panicThreshold: 0.5,
} as const;

/** An inclusive range of HTTP status codes. */
export type StatusRange = readonly [number, number];

interface CommonSettings {
  /** Between two probes of a healthy (or not yet checked) target. */
  readonly intervalMs: number;
  /** One probe's whole budget: connect, request, answer. */
  readonly timeoutMs: number;
  /** Consecutive passed probes that bring an unhealthy target back. */
  readonly healthyThreshold: number;
  /** Consecutive failed probes that take a healthy target out. */
  readonly unhealthyThreshold: number;
  /** Between two probes of an unhealthy target (faster, so it returns sooner). */
  readonly unhealthyIntervalMs: number;
  /** Each delay gets a random 0..jitterMs more, so probes of many targets do not line up. */
  readonly jitterMs: number;
  /** Probe this port instead of the target's. */
  readonly port?: number;
}

export interface HttpHealthCheck extends CommonSettings {
  readonly type: 'http';
  readonly method: string;
  readonly path: string;
  readonly expectStatus: readonly StatusRange[];
  /** The answer's body must contain this. */
  readonly body?: string;
  /** The Host header; default the target's address as written. */
  readonly host?: string;
}

export interface TcpHealthCheck extends CommonSettings {
  readonly type: 'tcp';
  /** Written once connected. */
  readonly send?: string;
  /** What the target must answer (a substring of what it sends within the timeout). */
  readonly expect?: string;
}

export interface GrpcHealthCheck extends CommonSettings {
  readonly type: 'grpc';
  /** The `service` of grpc.health.v1.HealthCheckRequest; "" (default) is the whole server. */
  readonly service: string;
}

export type HealthCheckConfig = HttpHealthCheck | TcpHealthCheck | GrpcHealthCheck;

const threshold = z.number().int().min(1).max(1000).describe('a whole number 1–1000');

const statusCode = z.number().int().min(100).max(599).describe('an HTTP status 100–599');

/** `200`, `"200-299"`, or a list of them. */
function parseStatus(text: string): StatusRange | string {
  const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(text);
  if (m === null) return 'not a status or range (write 200 or 200-299)';
  const lo = Number(m[1]);
  const hi = Number(m[2] ?? m[1]);
  if (lo < 100 || hi > 599) return 'statuses are 100–599';
  if (hi < lo) return `the range ends before it starts (${lo}-${hi})`;
  return [lo, hi];
}

const statusItem = z
  .union([
    statusCode.transform((n): StatusRange => [n, n]),
    z.string().transform((text, ctx): StatusRange => {
      const result = parseStatus(text);
      if (typeof result !== 'string') return result;
      ctx.addIssue({ code: 'custom', message: result });
      return z.NEVER;
    }),
  ])
  .describe('a status such as 200 or a range such as 200-299');

const expectStatus = z
  .union([statusItem.transform((r) => [r]), z.array(statusItem).min(1)])
  .describe('a status, a range such as 200-299, or a list of them');

const common = {
  intervalMs: millis.optional(),
  timeoutMs: millis.optional(),
  healthyThreshold: threshold.optional(),
  unhealthyThreshold: threshold.optional(),
  unhealthyIntervalMs: millis.optional(),
  jitterMs: z
    .number()
    .int()
    .min(0)
    .max(MAX_TIMER_MS)
    .describe('a whole number of milliseconds, 0 for none')
    .optional(),
  port: z.number().int().min(1).max(65_535).describe('a port 1–65535').optional(),
};

const text = (what: string) => z.string().min(1).max(65_536).describe(what);

/** The `healthCheck` of an upstream as written. */
export const healthCheckSchema = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('http'),
      method: z
        .string()
        .refine(isHttpToken, { error: 'not a method name' })
        .transform((m) => m.toUpperCase())
        .describe('an HTTP method such as GET or HEAD')
        .optional(),
      path: z
        .string()
        .regex(/^\/[\x21-\x22\x24-\x7e]*$/, {
          error: 'must start with / and hold only printable ASCII, no spaces or #',
        })
        .describe('a request target starting with /, query allowed')
        .optional(),
      expectStatus: expectStatus.optional(),
      body: text('text the answer body must contain').optional(),
      host: z
        .string()
        .regex(/^[\x21-\x7e]+$/, { error: 'must be printable ASCII without spaces' })
        .describe('the Host header to send')
        .optional(),
      ...common,
    }),
    z.strictObject({
      type: z.literal('tcp'),
      send: text('text written once connected').optional(),
      expect: text('text the target must answer').optional(),
      ...common,
    }),
    z.strictObject({
      type: z.literal('grpc'),
      service: z
        .string()
        .max(1024)
        .describe('a service name for grpc.health.v1.Health/Check; "" for the whole server')
        .optional(),
      ...common,
    }),
  ])
  .describe('{ type: http | tcp | grpc, ... }');

/** `panicThreshold` on an upstream. */
export const panicThresholdSchema = z
  .number()
  .min(0)
  .max(1)
  .describe('a share 0..1 (0 turns panic mode off)');

export type HealthCheckFile = z.output<typeof healthCheckSchema>;

/** Fills the defaults of a `healthCheck` that passed validation. */
export function resolveHealthCheck(file: HealthCheckFile): HealthCheckConfig {
  const intervalMs = file.intervalMs ?? HEALTH_DEFAULTS.intervalMs;
  const settings: CommonSettings = {
    intervalMs,
    timeoutMs: file.timeoutMs ?? HEALTH_DEFAULTS.timeoutMs,
    healthyThreshold: file.healthyThreshold ?? HEALTH_DEFAULTS.healthyThreshold,
    unhealthyThreshold: file.unhealthyThreshold ?? HEALTH_DEFAULTS.unhealthyThreshold,
    unhealthyIntervalMs:
      file.unhealthyIntervalMs ??
      Math.max(1, Math.round(intervalMs * HEALTH_DEFAULTS.unhealthyShare)),
    jitterMs: file.jitterMs ?? Math.round(intervalMs * HEALTH_DEFAULTS.jitterShare),
    ...(file.port === undefined ? {} : { port: file.port }),
  };
  switch (file.type) {
    case 'http':
      return {
        type: 'http',
        ...settings,
        method: file.method ?? HEALTH_DEFAULTS.method,
        path: file.path ?? HEALTH_DEFAULTS.path,
        expectStatus: file.expectStatus ?? HEALTH_DEFAULTS.expectStatus,
        ...(file.body === undefined ? {} : { body: file.body }),
        ...(file.host === undefined ? {} : { host: file.host }),
      };
    case 'tcp':
      return {
        type: 'tcp',
        ...settings,
        ...(file.send === undefined ? {} : { send: file.send }),
        ...(file.expect === undefined ? {} : { expect: file.expect }),
      };
    case 'grpc':
      return { type: 'grpc', ...settings, service: file.service ?? '' };
  }
}

/** `200-299`, `200, 204`: the ranges as written back. */
export function formatStatusRanges(ranges: readonly StatusRange[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`)).join(',');
}

/** What one probe does, for log lines: `GET /healthz`, `tcp connect`, `grpc Health/Check`. */
export function probeText(check: HealthCheckConfig): string {
  switch (check.type) {
    case 'http':
      return `${check.method} ${check.path}`;
    case 'tcp':
      return check.send === undefined && check.expect === undefined
        ? 'tcp connect'
        : 'tcp send/expect';
    case 'grpc':
      return check.service === ''
        ? 'grpc Health/Check'
        : `grpc Health/Check ${JSON.stringify(check.service)}`;
  }
}

/** One line of settings for `gw proxy --check`. */
export function healthCheckText(check: HealthCheckConfig): string {
  const parts = [`health ${check.type}`];
  if (check.type === 'http') {
    parts.push(`${check.method} ${check.path} expect ${formatStatusRanges(check.expectStatus)}`);
    if (check.body !== undefined) parts.push(`body ~${JSON.stringify(check.body)}`);
    if (check.host !== undefined) parts.push(`host ${check.host}`);
  } else if (check.type === 'tcp') {
    if (check.send !== undefined) parts.push(`send ${JSON.stringify(check.send)}`);
    if (check.expect !== undefined) parts.push(`expect ${JSON.stringify(check.expect)}`);
  } else parts.push(`service ${JSON.stringify(check.service)}`);
  if (check.port !== undefined) parts.push(`port ${check.port}`);
  parts.push(
    `every ${check.intervalMs}ms (unhealthy ${check.unhealthyIntervalMs}ms) jitter ${check.jitterMs}ms`,
    `timeout ${check.timeoutMs}ms`,
    `healthy after ${check.healthyThreshold} unhealthy after ${check.unhealthyThreshold}`,
  );
  return parts.join('  ');
}
