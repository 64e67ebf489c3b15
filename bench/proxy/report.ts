/**
 * Medians over rounds, ratios to the reference candidates, and the table
 * printed for each section of the proxy benchmark.
 */
import { median, round } from '../lib/median.js';
import { table, thousands } from '../lib/table.js';
import type { Sample, SectionSpec } from './sections.js';

/** Every measured round of one candidate, with the proxy's CPU use in each. */
export interface Measured {
  readonly name: string;
  readonly samples: readonly MeasuredSample[];
}

/** A sample with the CPU figures the runner adds around it. */
export interface MeasuredSample extends Sample {
  /** The proxy's CPU use, % of one core; null for direct. */
  cpuPercent: number | null;
  /** The proxy's CPU time per unit of work; null for direct. */
  cpuPerWork: number | null;
  /** The backend's CPU time per unit of work (the same unit). */
  backendCpuPerWork: number | null;
  /** CPU time on the proxy's CPU used by other processes than the proxy, % of that CPU. */
  otherCpuPercent: number | null;
  /** The same on the load CPU, beyond the backend and the load generator. */
  otherLoadCpuPercent: number | null;
}

export interface Summary {
  name: string;
  median: number;
  min: number;
  max: number;
  p50Ms: number | null;
  p99Ms: number | null;
  errors: number;
  /** Median CPU use of the proxy's processes, in % of one CPU (null for direct). */
  cpuPercent: number | null;
  /** Median CPU time of the proxy per unit of work (the section's `cpuPer`), null for direct. */
  cpuPerWork: number | null;
  backendCpuPerWork: number | null;
  /** Median share of the proxy's CPU, and of the load CPU, that other processes used. */
  otherCpuPercent: number | null;
  otherLoadCpuPercent: number | null;
  /** Median value / the reference's median value, by reference name. */
  ratios: Record<string, number | null>;
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return present.length === 0 ? null : median(present);
}

/**
 * The section's references, the baseline gw when it ran (`--baseline`), and
 * plain gw when gw with features ran beside it (`--candidates gw-feat`,
 * `gw-health`, `gw-rl`, `gw-w2`).
 */
function referencesOf(spec: SectionSpec, names: readonly string[]): string[] {
  const refs = [...spec.references];
  if (names.includes('gw-base')) refs.push('gw-base');
  const besideGw = [
    'gw-feat',
    'gw-health',
    'gw-cb',
    'gw-rl',
    'gw-rl-redis',
    'gw-rl-redis-wait',
    'gw-jwt',
    'gw-w2',
  ];
  if (names.some((n) => besideGw.includes(n)) && !refs.includes('gw')) {
    refs.push('gw');
  }
  return refs;
}

export function summarize(spec: SectionSpec, measured: readonly Measured[]): Summary[] {
  const medians = new Map(measured.map((m) => [m.name, median(m.samples.map((s) => s.value))]));
  const references = referencesOf(
    spec,
    measured.map((m) => m.name),
  );
  return measured.map((m) => {
    const values = m.samples.map((s) => s.value);
    const value = medians.get(m.name) ?? 0;
    const ratios: Record<string, number | null> = {};
    for (const ref of references) {
      const base = medians.get(ref);
      ratios[ref] = base === undefined || base === 0 ? null : value / base;
    }
    return {
      name: m.name,
      median: value,
      min: Math.min(...values),
      max: Math.max(...values),
      p50Ms: medianOrNull(m.samples.map((s) => s.p50Ms)),
      p99Ms: medianOrNull(m.samples.map((s) => s.p99Ms)),
      errors: m.samples.reduce((n, s) => n + s.errors, 0),
      cpuPercent: medianOrNull(m.samples.map((s) => s.cpuPercent)),
      cpuPerWork: medianOrNull(m.samples.map((s) => s.cpuPerWork)),
      backendCpuPerWork: medianOrNull(m.samples.map((s) => s.backendCpuPerWork)),
      otherCpuPercent: medianOrNull(m.samples.map((s) => s.otherCpuPercent)),
      otherLoadCpuPercent: medianOrNull(m.samples.map((s) => s.otherLoadCpuPercent)),
      ratios,
    };
  });
}

function formatValue(unit: string, v: number): string {
  return unit === 'GB/s' ? v.toFixed(2) : thousands(v);
}

function perWork(v: number | null): string {
  return v === null ? '-' : v.toFixed(v < 10 ? 2 : 1);
}

function ms(v: number | null): string {
  if (v === null) return '-';
  return v < 10 ? v.toFixed(2) : v.toFixed(1);
}

export function sectionTable(spec: SectionSpec, summaries: readonly Summary[]): string {
  const references = referencesOf(
    spec,
    summaries.map((s) => s.name),
  );
  const headers = [
    'candidate',
    `${spec.unit} (median)`,
    'min-max',
    'p50 ms',
    'p99 ms',
    'errors',
    'proxy CPU',
    spec.cpuPer.label,
    `backend ${spec.cpuPer.label}`,
    ...references.map((r) => `vs ${r}`),
  ];
  const rows = summaries.map((s) => [
    s.name,
    formatValue(spec.unit, s.median),
    `${formatValue(spec.unit, s.min)}-${formatValue(spec.unit, s.max)}`,
    ms(s.p50Ms),
    ms(s.p99Ms),
    String(s.errors),
    s.cpuPercent === null ? '-' : `${s.cpuPercent.toFixed(0)}%`,
    perWork(s.cpuPerWork),
    perWork(s.backendCpuPerWork),
    ...references.map((r) => {
      const ratio = s.ratios[r];
      return ratio === null || ratio === undefined || r === s.name ? '-' : `${ratio.toFixed(2)}x`;
    }),
  ]);
  const align = headers.map((_, i): 'left' | 'right' => (i === 0 ? 'left' : 'right'));
  return table(headers, rows, align);
}

/** The section's figures for the final JSON line. */
export function sectionJson(spec: SectionSpec, summaries: readonly Summary[]): object {
  return {
    unit: spec.unit,
    cpuPer: spec.cpuPer.label,
    latency: spec.latency,
    results: summaries.map((s) => ({
      candidate: s.name,
      median: round(s.median),
      min: round(s.min),
      max: round(s.max),
      p50Ms: s.p50Ms === null ? null : round(s.p50Ms, 3),
      p99Ms: s.p99Ms === null ? null : round(s.p99Ms, 3),
      errors: s.errors,
      cpuPercent: s.cpuPercent === null ? null : round(s.cpuPercent, 3),
      cpuPerWork: s.cpuPerWork === null ? null : round(s.cpuPerWork, 3),
      backendCpuPerWork: s.backendCpuPerWork === null ? null : round(s.backendCpuPerWork, 3),
      otherCpuPercent: s.otherCpuPercent === null ? null : round(s.otherCpuPercent, 3),
      otherLoadCpuPercent: s.otherLoadCpuPercent === null ? null : round(s.otherLoadCpuPercent, 3),
      ratios: Object.fromEntries(
        Object.entries(s.ratios).map(([k, v]) => [k, v === null ? null : round(v, 3)]),
      ),
    })),
  };
}

/** One sentence on gw against each reference, for the summary. */
export function verdictLine(spec: SectionSpec, summaries: readonly Summary[]): string {
  const gw = summaries.find((s) => s.name === 'gw');
  if (gw === undefined) return `${spec.id}: gw not measured`;
  const parts = summaries
    .filter((s) => s.name !== 'gw')
    .map((s) => `${(gw.median / s.median).toFixed(2)}x ${s.name}`);
  return `${spec.id}: gw ${formatValue(spec.unit, gw.median)} ${spec.unit} = ${parts.join(', ')}`;
}
