/**
 * Parsers for the small /proc and /etc files `gw conns` reads besides the
 * socket tables: the kernel's protocol counters, sysctl values and the user
 * database. Pure: text in, values out; a malformed file yields what could be
 * read, never an exception.
 */

/**
 * Counters from /proc/net/netstat or /proc/net/snmp, keyed `Group.Name`
 * (`TcpExt.ListenOverflows`, `Tcp.CurrEstab`). Both files hold pairs of
 * lines: `TcpExt: SyncookiesSent ...` then `TcpExt: 0 ...`.
 */
export type Counters = ReadonlyMap<string, number>;

/** Parses one or more counter files (their texts concatenated or one by one). */
export function parseCounters(...texts: readonly string[]): Counters {
  const counters = new Map<string, number>();
  for (const text of texts) {
    const lines = text.split('\n');
    for (let i = 0; i + 1 < lines.length; i++) {
      const names = (lines[i] ?? '').trim().split(/\s+/);
      const values = (lines[i + 1] ?? '').trim().split(/\s+/);
      const group = names[0];
      if (group?.endsWith(':') !== true || values[0] !== group) continue;
      if (!/^-?\d/.test(values[1] ?? '')) continue; // two name lines in a row: not a pair
      for (let k = 1; k < names.length; k++) {
        const value = Number(values[k]);
        if (Number.isFinite(value)) counters.set(`${group.slice(0, -1)}.${names[k] ?? ''}`, value);
      }
      i++;
    }
  }
  return counters;
}

/** The ephemeral port range (`/proc/sys/net/ipv4/ip_local_port_range`), both ends included. */
export interface PortRange {
  low: number;
  high: number;
}

/** Parses `32768\t60999`; undefined when malformed. */
export function parsePortRange(text: string): PortRange | undefined {
  const parts = text.trim().split(/\s+/).map(Number);
  const [low, high] = parts;
  if (parts.length !== 2 || low === undefined || high === undefined) return undefined;
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < 1 || high > 65535 || low > high) {
    return undefined;
  }
  return { low, high };
}

/** The sysctls the diagnoses quote; absent when unreadable or not in the snapshot. */
export interface Sysctls {
  somaxconn?: number;
  tcpMaxSynBacklog?: number;
  tcpSyncookies?: number;
  tcpTwReuse?: number;
  tcpMaxTwBuckets?: number;
  tcpFinTimeout?: number;
}

/** A sysctl file holding one integer (`1\n`); undefined when it holds anything else. */
export function parseSysctlInt(text: string): number | undefined {
  const trimmed = text.trim();
  return /^-?\d+$/.test(trimmed) ? Number(trimmed) : undefined;
}

/** User names by uid from /etc/passwd text (`name:x:uid:gid:...`); the first entry for a uid wins. */
export function parsePasswd(text: string): ReadonlyMap<number, string> {
  const users = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const [name, , uidText] = line.split(':');
    if (name === undefined || name === '' || uidText === undefined || !/^\d+$/.test(uidText)) {
      continue;
    }
    const uid = Number(uidText);
    if (!users.has(uid)) users.set(uid, name);
  }
  return users;
}
