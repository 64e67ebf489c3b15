import { readFileSync } from 'node:fs';

/** One packet as tshark analysed it (from the fixtures' NAME.tshark.tsv). */
export interface TsharkPacket {
  frame: number;
  stream: number;
  flags: string;
  seq: number;
  ack: number;
  len: number;
  /** Wireshark's analysis flags, mapped to gw's event names. */
  events: Set<string>;
}

/** tshark field → gw event name. */
const FIELDS: Readonly<Record<string, string>> = {
  'tcp.analysis.retransmission': 'retransmission',
  'tcp.analysis.fast_retransmission': 'fast-retransmission',
  'tcp.analysis.spurious_retransmission': 'spurious-retransmission',
  'tcp.analysis.out_of_order': 'out-of-order',
  'tcp.analysis.lost_segment': 'previous-segment-not-captured',
  'tcp.analysis.ack_lost_segment': 'ack-unseen-segment',
  'tcp.analysis.duplicate_ack': 'dup-ack',
  'tcp.analysis.zero_window': 'zero-window',
  'tcp.analysis.zero_window_probe': 'zero-window-probe',
  'tcp.analysis.zero_window_probe_ack': 'zero-window-probe-ack',
  'tcp.analysis.window_full': 'window-full',
  'tcp.analysis.window_update': 'window-update',
  'tcp.analysis.keep_alive': 'keep-alive',
  'tcp.analysis.keep_alive_ack': 'keep-alive-ack',
};

/**
 * Reads a tshark `-T fields -E header=y` TSV. Wireshark marks fast and
 * spurious retransmissions with the plain retransmission field as well;
 * gw names the specific kind only, so the plain one is dropped there.
 */
export function readTsharkTsv(path: string): TsharkPacket[] {
  const [header = '', ...rows] = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  const names = header.split('\t');
  const col = (name: string): number => names.indexOf(name);
  // Frames that are not TCP (ARP, ICMP, UDP) have no stream: not ours to compare.
  const tcpRows = rows.filter((row) => (row.split('\t')[col('tcp.stream')] ?? '') !== '');
  return tcpRows.map((row) => {
    const cells = row.split('\t');
    const get = (name: string): string => cells[col(name)] ?? '';
    const events = new Set<string>();
    for (const [field, event] of Object.entries(FIELDS)) {
      const at = col(field);
      if (at >= 0 && (cells[at] ?? '') !== '') events.add(event);
    }
    if (events.has('fast-retransmission') || events.has('spurious-retransmission'))
      events.delete('retransmission');
    return {
      frame: Number(get('frame.number')),
      stream: Number(get('tcp.stream')),
      flags: get('tcp.flags.str'),
      seq: Number(get('tcp.seq')),
      ack: Number(get('tcp.ack')),
      len: Number(get('tcp.len')),
      events,
    };
  });
}
