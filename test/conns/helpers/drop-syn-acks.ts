/**
 * A tc setup on lo that drops every TCP segment sent from some ports: the
 * SYN+ACKs of listeners there never arrive, so their clients stay in
 * SYN_SENT and the listeners keep SYN_RECV minisockets. Used in network
 * namespaces only (the netns test and the /proc fixture script), where lo
 * is private. `tc` runs through `run`, in whichever namespace the caller
 * means.
 */
export function dropSynAcksFrom(
  ports: readonly number[],
  run: (cmd: string, args: readonly string[]) => unknown,
): void {
  const tc = (line: string): unknown => run('tc', line.split(' '));
  tc('qdisc add dev lo root handle 1: htb default 10');
  tc('class add dev lo parent 1: classid 1:10 htb rate 10gbit');
  tc('class add dev lo parent 1: classid 1:20 htb rate 8kbit');
  tc('qdisc add dev lo parent 1:20 handle 20: pfifo limit 0');
  for (const port of ports) {
    for (const [proto, match, prio] of [
      ['ip', 'ip', 1],
      ['ipv6', 'ip6', 2],
    ] as const) {
      tc(
        `filter add dev lo parent 1: protocol ${proto} prio ${prio} u32` +
          ` match ${match} protocol 6 0xff match ${match} sport ${port} 0xffff flowid 1:20`,
      );
    }
  }
}
