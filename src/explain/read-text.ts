import { captureUnsupported } from '../shared/errors.js';
import type { CaptureStats } from './capture/packets.js';
import type { TcpPacket } from './types.js';

/**
 * Streams the TCP packets of tcpdump's text output. Lines that are not TCP
 * are counted in `stats` and skipped; a text with no TCP line at all is an
 * error quoting its first unparseable line.
 */
// eslint-disable-next-line require-yield -- replaced by the text parser
export async function* readTextCapture(
  _input: AsyncIterable<Buffer>,
  source: string,
  _stats: CaptureStats,
): AsyncGenerator<TcpPacket> {
  await Promise.resolve();
  throw captureUnsupported(
    source,
    'not a pcap or pcapng file',
    'tcpdump text input comes with the text parser',
  );
}
