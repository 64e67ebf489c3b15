import net from 'node:net';
import type { ListenerConfig, ProxyConfig } from './config/types.js';
import { compileRoutes, type CompiledRoute } from './routing/compile-routes.js';
import { UpstreamRuntime } from './upstream/upstream-runtime.js';

/** One listener's compiled routing state. */
export interface ListenerRuntime {
  readonly config: ListenerConfig;
  readonly routes: readonly CompiledRoute[];
  /** True for a peer address inside the listener's trustedProxies. */
  readonly isTrusted: (ip: string) => boolean;
}

/**
 * Everything the data plane needs from one config, built once: compiled
 * routes and upstream runtimes (balancers, pools). Listeners read it through
 * a {@link RuntimeRef} on every request, so a reload swaps the whole thing
 * atomically by replacing `ref.current`.
 */
export class GatewayRuntime {
  readonly config: ProxyConfig;
  readonly upstreams: ReadonlyMap<string, UpstreamRuntime>;
  readonly listeners: ReadonlyMap<string, ListenerRuntime>;

  constructor(config: ProxyConfig) {
    this.config = config;
    this.upstreams = new Map(
      [...config.upstreams.values()].map((u) => [u.name, new UpstreamRuntime(u)]),
    );
    this.listeners = new Map(config.listeners.map((l) => [l.name, buildListener(l)]));
  }

  /** The upstream a validated config guarantees to exist. */
  upstream(name: string): UpstreamRuntime {
    const upstream = this.upstreams.get(name);
    if (upstream === undefined) throw new Error(`upstream ${name} missing from a validated config`);
    return upstream;
  }

  listener(name: string): ListenerRuntime {
    const listener = this.listeners.get(name);
    if (listener === undefined) throw new Error(`listener ${name} missing from a validated config`);
    return listener;
  }

  /**
   * Closes every upstream's pools, letting exchanges in flight finish; with
   * `forceAfterMs` (shutting down), HTTP/2 sessions still busy then are cut.
   */
  async close(forceAfterMs?: number): Promise<void> {
    await Promise.allSettled([...this.upstreams.values()].map((u) => u.close(forceAfterMs)));
  }
}

/** The one mutable cell of the data plane: the runtime in force. */
export interface RuntimeRef {
  current: GatewayRuntime;
}

function buildListener(config: ListenerConfig): ListenerRuntime {
  const routes = config.protocol === 'tcp' ? [] : compileRoutes(config.routes);
  const trusted = config.protocol === 'http' ? config.trustedProxies : [];
  return { config, routes, isTrusted: trustChecker(trusted) };
}

/** A checker for addresses inside any of the CIDRs (IPv4 and IPv6; mapped IPv4 too). */
export function trustChecker(cidrs: readonly string[]): (ip: string) => boolean {
  if (cidrs.length === 0) return () => false;
  const list = new net.BlockList();
  for (const cidr of cidrs) {
    const [address = '', bits] = cidr.split('/');
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    const prefix = bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits);
    list.addSubnet(address, prefix, family);
  }
  return (ip) => {
    if (ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7))) return list.check(ip.slice(7), 'ipv4');
    return list.check(ip, net.isIPv6(ip) ? 'ipv6' : 'ipv4');
  };
}
