/**
 * The contracts shared by gw's framing codecs.
 *
 * TCP carries a byte stream, not messages: one `read()` may return several
 * messages stuck together (粘包, sticky) or only part of one (拆包, split).
 * A framing puts the message boundaries back. Decoders here are pure: they
 * take chunks exactly as the socket delivered them and return whole messages.
 */

/** Turns a stream of chunks back into whole messages. One instance per connection. */
export interface Decoder {
  /**
   * Feeds one chunk as it came off the socket and returns the messages it
   * completed, in order (possibly none). Partial bytes are kept for the next
   * call. Throws a `GW_ERR_FRAME_TOO_LARGE` GwError as soon as a frame is known
   * to exceed the limit; the decoder must not be used after it threw.
   *
   * Returned buffers may share memory with the chunks passed in (no copy is
   * made when a message lies within one chunk): callers that reuse their read
   * buffer must pass a copy.
   */
  push(chunk: Buffer): Buffer[];
  /**
   * After `push` threw: the messages that the same chunk completed before the
   * bad frame, so a server can still answer everything it accepted.
   */
  readonly completedBeforeError: readonly Buffer[];
  /** Bytes held over from earlier chunks: the start of a message not yet complete. */
  readonly buffered: number;
}

/** The framings gw knows. `raw` is no framing at all: one read is taken as one message. */
export type FramingName = 'line' | 'length' | 'fixed' | 'raw';

/** A complete, validated description of a framing. */
export type FramingSpec =
  | { readonly framing: 'line'; readonly delimiter: Buffer; readonly maxFrameBytes: number }
  | { readonly framing: 'length'; readonly lengthBytes: 1 | 2 | 4; readonly maxFrameBytes: number }
  | { readonly framing: 'fixed'; readonly frameSize: number; readonly padByte: number }
  | { readonly framing: 'raw' };

/** A framing's encoder and a factory for its decoders. */
export interface Codec {
  readonly spec: FramingSpec;
  /** A fresh decoder with no buffered bytes (one per connection). */
  decoder(): Decoder;
  /** The wire bytes of one message. Throws `GW_ERR_BAD_MESSAGE` when it cannot be framed. */
  encode(message: Uint8Array): Buffer;
  /** The message as a person should see it (fixed framing drops its padding). */
  display(message: Buffer): Buffer;
  /** Bytes the framing adds to a message of `size` bytes on the wire. */
  overheadBytes(size: number): number;
}

/** The default limit on one frame: 1 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
