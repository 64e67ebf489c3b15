/**
 * One measurement of one candidate, with the CPU accounting around it: the
 * proxy's CPU time (its process and what it forked), the backend's, the load
 * generator's (a child of this process, so it shows in our children's CPU
 * time once reaped), and how busy each of the two CPUs was. What the two
 * CPUs did beyond that was done by other processes on the machine: a
 * measurement they disturbed can be repeated.
 */
import type { Candidate } from './candidates.js';
import { childrenCpuSeconds, cpuBusySeconds, cpuSeconds, type Pinning } from './procs.js';
import type { MeasuredSample } from './report.js';
import type { Running, SectionSpec } from './sections.js';

/** A snapshot of every CPU counter a measurement is judged by. */
interface Counters {
  proxy: number;
  backend: number;
  load: number;
  proxyCpuBusy: number | undefined;
  loadCpuBusy: number | undefined;
  at: number;
}

function counters(pin: Pinning, running: Running, c: Candidate): Counters {
  return {
    proxy: c.proc === undefined ? 0 : cpuSeconds(c.proc.pid),
    backend: running.backends.reduce((t, b) => t + cpuSeconds(b.pid), 0),
    load: childrenCpuSeconds(),
    proxyCpuBusy: pin.enabled ? cpuBusySeconds(pin.proxyCpu) : undefined,
    loadCpuBusy: pin.enabled ? cpuBusySeconds(pin.loadCpu) : undefined,
    at: performance.now(),
  };
}

/** Share of one CPU (%) used by other processes: busy time less what ours used there. */
function other(busy0: number | undefined, busy1: number | undefined, ours: number, wallS: number) {
  if (busy0 === undefined || busy1 === undefined) return null;
  return Math.max(0, (100 * (busy1 - busy0 - ours)) / wallS);
}

export async function measureOnce(
  pin: Pinning,
  spec: SectionSpec,
  running: Running,
  c: Candidate,
  seconds: number,
  warmUp: boolean,
): Promise<MeasuredSample> {
  const before = counters(pin, running, c);
  const sample = await running.measure(c, seconds, warmUp);
  const after = counters(pin, running, c);
  const wallS = (after.at - before.at) / 1000;
  const proxy = after.proxy - before.proxy;
  const backend = after.backend - before.backend;
  const load = after.load - before.load;
  const per = (s: number): number | null =>
    sample.work > 0 ? (s * spec.cpuPer.scale) / sample.work : null;
  return {
    ...sample,
    cpuPercent: c.proc === undefined ? null : (100 * proxy) / sample.activeSeconds,
    cpuPerWork: c.proc === undefined ? null : per(proxy),
    backendCpuPerWork: per(backend),
    // Nothing of ours runs on the proxy's CPU in the direct case, so there it is not judged.
    otherCpuPercent:
      c.proc === undefined ? null : other(before.proxyCpuBusy, after.proxyCpuBusy, proxy, wallS),
    otherLoadCpuPercent: other(before.loadCpuBusy, after.loadCpuBusy, backend + load, wallS),
  };
}
