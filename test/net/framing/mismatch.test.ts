import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { codec } from '../../../src/net/framing/codec.js';
import { framingMismatch, mismatchText } from '../../../src/net/framing/mismatch.js';
import type { FramingSpec } from '../../../src/net/framing/types.js';

/** What a server with `server` framing decodes from one write of messages framed with `client`. */
function decodedBy(server: FramingSpec, client: FramingSpec, messages: string[]): Buffer[] {
  const wire = Buffer.concat(messages.map((m) => codec(client).encode(Buffer.from(m))));
  return codec(server).decoder().push(wire);
}

const length = (lengthBytes: 1 | 2 | 4): FramingSpec => ({
  framing: 'length',
  lengthBytes,
  maxFrameBytes: 1 << 20,
});
const fixed = (frameSize: number): FramingSpec => ({ framing: 'fixed', frameSize, padByte: 0 });

describe('framingMismatch', () => {
  it('spots a 4-byte length header read by a server expecting 2 bytes', () => {
    const decoded = decodedBy(length(2), length(4), ['0:abcdefgh', '1:bcdefghi']);
    assert.equal(framingMismatch(length(2), decoded), 'length-wider');
  });

  it('spots 64-byte fixed frames read by a server expecting 32', () => {
    const decoded = decodedBy(fixed(32), fixed(64), ['0:abcdefghijklmn', '1:bcdefghijklmno']);
    assert.equal(framingMismatch(fixed(32), decoded), 'fixed-larger');
  });

  it('spots 32-byte fixed frames read by a server expecting 64', () => {
    const decoded = decodedBy(fixed(64), fixed(32), ['0:abcdefghijklmn', '1:bcdefghijklmno']);
    assert.equal(framingMismatch(fixed(64), decoded), 'fixed-smaller');
  });

  it('stays quiet when both sides use the same framing', () => {
    for (const spec of [length(1), length(2), length(4), fixed(32)]) {
      const decoded = decodedBy(spec, spec, ['0:abc', '1:bcd', '2:cde']);
      assert.equal(framingMismatch(spec, decoded), undefined, JSON.stringify(spec));
    }
    // A lone empty message (an empty line typed in the interactive client) is not a mismatch.
    assert.equal(framingMismatch(length(4), decodedBy(length(4), length(4), [''])), undefined);
    assert.equal(framingMismatch(fixed(8), decodedBy(fixed(8), fixed(8), [''])), undefined);
  });

  it('names the option to fix in both languages', () => {
    assert.match(mismatchText('length-wider', length(2)), /--length-bytes/);
    assert.match(mismatchText('fixed-larger', fixed(32), 'zh'), /--frame-size/);
    assert.match(mismatchText('fixed-smaller', fixed(64), 'zh'), /分帧不一致/);
  });
});
