/**
 * An upstream's `discovery` setting after validation (see `schema.ts`):
 * where its targets come from when the config does not list them. Pure types.
 */
import type { HostPort } from '../config/types.js';

/** A YAML/JSON file listing the targets, watched for changes. */
export interface FileDiscovery {
  readonly type: 'file';
  /** The path as written in the config (shown in logs and `--check`). */
  readonly written: string;
  /** The path to read: relative paths start at the config file's directory. */
  readonly path: string;
}

/** Which DNS records a `dns` source asks for; `A+AAAA` asks for both. */
export type DnsRecordType = 'A' | 'AAAA' | 'A+AAAA' | 'SRV';

/** A DNS name re-resolved every `intervalMs` (sooner when the records' TTL is shorter). */
export interface DnsDiscovery {
  readonly type: 'dns';
  readonly name: string;
  readonly recordType: DnsRecordType;
  /** The targets' port for A/AAAA records (SRV records carry their own). */
  readonly port?: number;
  /** Default 5000. */
  readonly intervalMs: number;
  /** The DNS server to ask instead of the system's (`host:port`). */
  readonly server?: HostPort;
}

/** The keys under `prefix` in an etcd v3 cluster, read once and then watched. */
export interface EtcdDiscovery {
  readonly type: 'etcd';
  /** `http://host:port` client URLs. */
  readonly endpoints: readonly string[];
  readonly prefix: string;
}

export type DiscoveryConfig = FileDiscovery | DnsDiscovery | EtcdDiscovery;

/** Defaults of the optional discovery settings. */
export const DISCOVERY_DEFAULTS = { dnsIntervalMs: 5000 } as const;

/** How logs and `gw proxy --check` name a source: `file targets.yaml`, `dns api.test SRV`, `etcd /services/api/`. */
export function describeDiscovery(d: DiscoveryConfig): string {
  switch (d.type) {
    case 'file':
      return `file ${d.written}`;
    case 'dns':
      return `dns ${d.name} ${d.recordType}`;
    case 'etcd':
      return `etcd ${d.endpoints.join(',')} ${d.prefix}`;
  }
}
