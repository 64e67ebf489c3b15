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
