import type { FramingSpec } from './types.js';

/** The trace a framing mismatch left: see {@link framingMismatch}. */
export type FramingMismatch = 'length-wider' | 'fixed-larger' | 'fixed-smaller';

/**
 * Spots a peer that frames differently from us, from the messages one read
 * decoded. An echo cannot show it to the client: a server that cuts a 4-byte
 * length header into an empty message and a 2-byte one, or a 64-byte fixed
 * frame into two 32-byte ones, echoes exactly the bytes it got. So the
 * server looks for the traces a mismatch leaves:
 *
 * - length: an empty message right before another one in the same read, the
 *   leading zero bytes of a wider header (`00 00 | 00 18 ...`);
 * - fixed: a frame of nothing but padding right after a message (the peer's
 *   frames are larger), or padding followed by more data inside one frame
 *   (two of the peer's frames read as one).
 *
 * Returns which trace was seen, or undefined. A heuristic: a peer that really
 * sends an empty message and then another in one write is reported too. Pure.
 */
export function framingMismatch(
  spec: FramingSpec,
  decoded: readonly Buffer[],
): FramingMismatch | undefined {
  if (spec.framing === 'length') {
    for (let i = 0; i + 1 < decoded.length; i++) {
      if (decoded[i]?.length === 0 && (decoded[i + 1]?.length ?? 0) > 0) return 'length-wider';
    }
    return undefined;
  }
  if (spec.framing !== 'fixed') return undefined;
  const pad = spec.padByte;
  for (let i = 0; i < decoded.length; i++) {
    const frame = decoded[i];
    if (frame === undefined) continue;
    const firstPad = frame.indexOf(pad);
    if (firstPad < 0) continue;
    const allPad = frame.every((b) => b === pad);
    if (allPad && i > 0 && !(decoded[i - 1]?.every((b) => b === pad) ?? true)) {
      return 'fixed-larger';
    }
    if (firstPad > 0 && frame.subarray(firstPad).some((b) => b !== pad)) return 'fixed-smaller';
  }
  return undefined;
}

/** What the server prints for a mismatch, with the likely cause and the fix, in English or Chinese. */
export function mismatchText(
  kind: FramingMismatch,
  spec: FramingSpec,
  lang: 'en' | 'zh' = 'en',
): string {
  const width = spec.framing === 'length' ? spec.lengthBytes : 0;
  const size = spec.framing === 'fixed' ? spec.frameSize : 0;
  if (lang === 'zh') {
    switch (kind) {
      case 'length-wider':
        return `分帧不一致？同一次读里一条空消息紧跟着另一条消息：客户端的长度头可能比 ${width} 字节宽（宽头部开头的 0 字节被读成了空消息）；两端请用相同的 --length-bytes`;
      case 'fixed-larger':
        return `分帧不一致？一条消息之后的帧全是填充：客户端的帧可能大于 ${size} 字节（它的一帧被读成了两帧）；两端请用相同的 --frame-size`;
      case 'fixed-smaller':
        return `分帧不一致？一帧里填充之后还有数据：客户端的帧可能小于 ${size} 字节（它的两帧被读成了一帧）；两端请用相同的 --frame-size`;
    }
  }
  switch (kind) {
    case 'length-wider':
      return `framing mismatch? an empty message came right before another in the same read: the client's length header is probably wider than ${width} bytes (its leading zero bytes read as an empty message); use the same --length-bytes on both sides`;
    case 'fixed-larger':
      return `framing mismatch? a frame held nothing but padding right after a message: the client's frames are probably larger than ${size} bytes (one of its frames read as two); use the same --frame-size on both sides`;
    case 'fixed-smaller':
      return `framing mismatch? a frame held padding and then more data: the client's frames are probably smaller than ${size} bytes (two of its frames read as one); use the same --frame-size on both sides`;
  }
}
