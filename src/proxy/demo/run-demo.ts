import type { RunningBackend } from '../../backend/backend-options.js';
import { startBackend } from '../../backend/start-backend.js';
import { parseConfigText } from '../config/load.js';
import { startGateway, type Gateway } from '../gateway.js';
import type { LineSink } from '../middleware/access-log/access-log.js';
import { demoConfigYaml, demoPorts, type DemoBackends, type DemoPorts } from './demo-config.js';
import { probe, type ProbeKind } from './probe.js';

export interface Demo {
  readonly gateway: Gateway;
  readonly backends: DemoBackends;
  readonly ports: DemoPorts;
  readonly yaml: string;
  close(): Promise<void>;
}

const KINDS = ['http', 'ws', 'grpc', 'tcp'] as const;

/**
 * Starts three demo backends per protocol on free loopback ports and a
 * gateway in front of them from the embedded config. If anything fails to
 * start, whatever did start is stopped before the error is thrown.
 */
export async function startDemo(basePort: number, accessLog: LineSink): Promise<Demo> {
  const started: RunningBackend[] = [];
  const stopAll = (): Promise<unknown> => Promise.allSettled(started.map((b) => b.close()));
  try {
    const byKind: Record<string, RunningBackend[]> = {};
    for (const kind of KINDS) {
      const prefix = kind === 'http' ? 'api' : kind;
      byKind[kind] = [];
      for (let i = 1; i <= 3; i++) {
        const backend = await startBackend(kind, { port: 0, name: `${prefix}-${i}`, banner: true });
        started.push(backend);
        byKind[kind].push(backend);
      }
    }
    const backends: DemoBackends = {
      http: byKind.http ?? [],
      ws: byKind.ws ?? [],
      grpc: byKind.grpc ?? [],
      tcp: byKind.tcp ?? [],
    };
    const ports = demoPorts(basePort);
    const yaml = demoConfigYaml(ports, backends);
    const gateway = await startGateway(parseConfigText(yaml, 'gw demo (embedded config)'), {
      accessLog,
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

/** Makes `count` exchanges of a kind through the demo and lists who answered. */
export async function probeMany(
  kind: ProbeKind,
  host: string,
  ports: DemoPorts,
  count: number,
  path?: string,
): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) names.push(await probe(kind, host, portFor(kind, ports), path));
  return names;
}
