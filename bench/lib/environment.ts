import os from 'node:os';

/** Where a benchmark ran, recorded with its figures so results from different machines are not mixed up. */
export interface Environment {
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  date: string;
}

/** Describes this machine and runtime. */
export function environment(): Environment {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    date: new Date().toISOString(),
  };
}

/** One line describing the environment, printed above each benchmark's table. */
export function describeEnvironment(env: Environment): string {
  return `node ${env.node} on ${env.platform}, ${env.cores} x ${env.cpu}`;
}
