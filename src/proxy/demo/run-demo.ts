import { BACKEND_KINDS, type RunningBackend } from '../../backend/backend-options.js';
import { startBackend } from '../../backend/start-backend.js';
import { GwError, isGwError } from '../../shared/errors.js';
import { parseConfigText } from '../config/load.js';
import { startGateway, type Gateway } from '../gateway.js';
import type { LineSink } from '../middleware/access-log/access-log.js';
import { BACKEND_PREFIX, demoConfigYaml, demoPorts, type DemoPorts } from './demo-config.js';
import { indexText } from './demo-text.js';
import { probe, type ProbeKind } from './probe.js';

export interface Demo {
  readonly gateway: Gateway;
  readonly backends: Readonly<Record<ProbeKind, readonly RunningBackend[]>>;
  readonly ports: DemoPorts;
  readonly yaml: string;
  close(): Promise<void>;
}

/**
 * Starts three demo backends per protocol on free loopback ports and a
 * gateway in front of them from the embedded config. If anything fails to
 * start, whatever did start is stopped before the error is thrown. `gw` is
 * how the user runs gw, for the text the HTTP backends answer at `/`.
 */
export async function startDemo(
  basePort: number,
  accessLog: LineSink,
  gw = 'npx gw',
): Promise<Demo> {
  const started: RunningBackend[] = [];
  const stopAll = (): Promise<unknown> => Promise.allSettled(started.map((b) => b.close()));
  const ports = demoPorts(basePort);
  const index = indexText(ports, gw);
  const elsewhere = basePort === 18080 ? 28080 : 18080;
  try {
    const backends: Record<ProbeKind, RunningBackend[]> = { http: [], ws: [], grpc: [], tcp: [] };
    for (const kind of BACKEND_KINDS) {
      for (let i = 1; i <= 3; i++) {
        const name = `${BACKEND_PREFIX[kind]}-${i}`;
        const backend = await startBackend(kind, { port: 0, name, banner: true, index });
        started.push(backend);
        backends[kind].push(backend);
      }
    }
    const yaml = demoConfigYaml(ports, backends);
    const gateway = await startGateway(parseConfigText(yaml, 'gw demo (embedded config)'), {
      accessLog,
      portInUseHint: (port) =>
        `stop the process holding it (ss -ltnp 'sport = :${port}' shows which), or move the demo: ${gw} demo --base-port ${elsewhere} (http ${elsewhere}, grpc ${elsewhere + 1}, tcp ${elsewhere + 2})`,
    });
    return {
      gateway,
      backends,
      ports,
      yaml,
      async close() {
        await gateway.close(1000);
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Which port of the demo serves a probe kind. */
export function portFor(kind: ProbeKind, ports: DemoPorts): number {
  return kind === 'grpc' ? ports.grpc : kind === 'tcp' ? ports.tcp : ports.http;
}

/**
 * Makes `count` exchanges of a kind through the demo and lists who answered.
 * Nothing listening becomes a hint to start the demo (or to give `call` the
 * demo's `--base-port`), the only options `gw demo call` has.
 */
export async function probeMany(
  kind: ProbeKind,
  host: string,
  ports: DemoPorts,
  count: number,
  path?: string,
  gw = 'npx gw',
): Promise<string[]> {
  const names: string[] = [];
  try {
    for (let i = 0; i < count; i++) names.push(await probe(kind, host, portFor(kind, ports), path));
  } catch (err) {
    if (!isGwError(err, 'GW_ERR_CONNECT_REFUSED')) throw err;
    throw new GwError(err.code, err.message, {
      hint: `is gw demo running? start it with: ${gw} demo (a demo started with --base-port P needs the same --base-port P here)`,
      cause: err.cause,
      exitCode: err.exitCode,
      httpStatus: err.httpStatus,
    });
  }
  return names;
}
