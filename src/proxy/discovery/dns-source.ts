import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { formatHostPort } from '../../shared/format.js';
import type { TargetConfig } from '../config/types.js';
import { addressTargets, nextDelayMs, srvTargets, type AddressRecord } from './dns-records.js';
import type { DnsDiscovery } from './types.js';
import { ChangingSource } from './changing-source.js';

/** One lookup's outcome: targets and the TTLs seen, or why there are none. */
type Lookup =
  | { readonly ok: true; readonly targets: TargetConfig[]; readonly ttls: number[] }
  | { readonly ok: false; readonly why: string };

/**
 * Targets from DNS: A and/or AAAA records on a configured port, or SRV
 * records (port and weight from the record), asked of the system's servers
 * or of `server`, again every `intervalMs` (sooner when a TTL is shorter).
 * A failed or empty answer keeps the last good list; each change of state
 * (failing, empty, answering again) is logged once.
 */
export class DnsSource extends ChangingSource {
  readonly label: string;
  private readonly config: DnsDiscovery;
  private readonly log: (line: string) => void;
  private readonly resolver: Resolver;
  private timer: NodeJS.Timeout | undefined;
  private state = 'ok';
  private closed = false;

  constructor(config: DnsDiscovery, label: string, log: (line: string) => void) {
    super();
    this.config = config;
    this.label = label;
    this.log = log;
    // One try, short timeout: the next round comes soon anyway.
    this.resolver = new Resolver({ timeout: 2000, tries: 1 });
    if (config.server !== undefined) {
      this.resolver.setServers([formatHostPort(config.server.host, config.server.port)]);
    }
  }

  async start(): Promise<void> {
    await this.round();
  }

  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.resolver.cancel();
    return Promise.resolve();
  }

  private async round(): Promise<void> {
    const result = await this.lookup();
    if (this.closed) return;
    let delay = this.config.intervalMs;
    if (result.ok && result.targets.length > 0) {
      if (this.state !== 'ok') this.log(`answering again (${result.targets.length} targets)`);
      this.state = 'ok';
      this.publish(result.targets);
      delay = nextDelayMs(this.config.intervalMs, result.ttls);
    } else {
      const why = result.ok ? 'no records' : result.why;
      if (why !== this.state) {
        const n = this.list().length;
        const keeping = this.answered
          ? `keeping the last good answer (${n} target${n === 1 ? '' : 's'})`
          : 'no targets yet';
        this.log(`lookup failed: ${why}; ${keeping}`);
      }
      this.state = why;
      if (!this.answered) this.publish([]);
    }
    this.timer = setTimeout(() => void this.round(), delay).unref();
  }

  private async lookup(): Promise<Lookup> {
    const { name, recordType } = this.config;
    try {
      if (recordType === 'SRV') {
        const records = await this.resolver.resolveSrv(name);
        const names = [...new Set(records.map((r) => r.name.replace(/\.$/, '').toLowerCase()))];
        const addresses = new Map<string, string[]>();
        const ttls: number[] = [];
        await Promise.all(
          names.map(async (host) => {
            if (isIP(host) !== 0) return;
            const found = await this.addresses(host, 'A+AAAA');
            if (found.length === 0) return;
            addresses.set(
              host,
              found.map((r) => r.address),
            );
            ttls.push(...found.map((r) => r.ttl));
          }),
        );
        return { ok: true, targets: srvTargets(records, addresses), ttls };
      }
      const records = await this.addresses(name, recordType, true);
      const port = this.config.port ?? 0;
      return { ok: true, targets: addressTargets(records, port), ttls: records.map((r) => r.ttl) };
    } catch (err) {
      const code = (err as { code?: string }).code;
      return { ok: false, why: `${recordType} ${name}: ${code ?? String(err)}` };
    }
  }

  /** A and/or AAAA records; with `strict`, throws when every asked type failed. */
  private async addresses(
    name: string,
    type: 'A' | 'AAAA' | 'A+AAAA',
    strict = false,
  ): Promise<AddressRecord[]> {
    const asks: Promise<AddressRecord[]>[] = [];
    if (type !== 'AAAA') asks.push(this.resolver.resolve4(name, { ttl: true }));
    if (type !== 'A') asks.push(this.resolver.resolve6(name, { ttl: true }));
    const settled = await Promise.allSettled(asks);
    const found = settled.flatMap((s) => (s.status === 'fulfilled' ? s.value : []));
    const failures = settled.filter((s) => s.status === 'rejected');
    // NODATA (the name has other record types only) is an empty answer, not a failure.
    const real = failures.filter((s) => (s.reason as { code?: string }).code !== 'ENODATA');
    const [first] = real;
    if (strict && found.length === 0 && first !== undefined) throw first.reason;
    return found;
  }
}
