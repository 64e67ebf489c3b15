/** One captured frame, as a capture file stores it. */
export interface CaptureRecord {
  /** LINKTYPE_* of the frame's interface. */
  readonly linkType: number;
  /** pcapng interface number (0 for pcap). */
  readonly interfaceId: number;
  /** Seconds since the epoch. */
  readonly time: number;
  /** Length of the frame on the wire (the captured part may be shorter). */
  readonly originalLength: number;
  /** The captured bytes. */
  readonly data: Uint8Array;
  /** pcapng interface name, when the file gives one. */
  readonly interfaceName?: string;
}

/** An incremental reader of one capture format. */
export interface CaptureDecoder {
  /** Feeds a chunk; returns the records it completed. Throws GwErrors on corruption. */
  push(chunk: Uint8Array): CaptureRecord[];
  /** Call at end of input; throws when the file ended inside a header or record. */
  end(): void;
}

/**
 * The largest record any capture holds (Wireshark's standard maximum), and
 * so the least limit even when a file's snapshot length says less.
 */
export const STANDARD_MAX_RECORD_BYTES = 262_144;

/** No record is believed beyond this, whatever a file's snapshot length says. */
const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/**
 * The most bytes one record of a file (or pcapng interface) with this
 * snapshot length may capture. A record claiming more is corruption,
 * reported as soon as its header is read rather than after buffering on to
 * where it would end.
 */
export function recordLimit(snapLength: number): number {
  return Math.min(Math.max(snapLength, STANDARD_MAX_RECORD_BYTES), MAX_RECORD_BYTES);
}
