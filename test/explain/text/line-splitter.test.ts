import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { newStats } from '../../../src/explain/capture/packets.js';
import { readTextCapture } from '../../../src/explain/read-text.js';
import {
  LineSplitter,
  MAX_LINE_CHARS,
  type SplitLine,
} from '../../../src/explain/text/line-splitter.js';
import type { TcpPacket } from '../../../src/explain/types.js';
import { isGwError } from '../../../src/shared/errors.js';

const FIXTURE = new URL('../../../fixtures/captures/abort-linger0.tcpdump-n.txt', import.meta.url)
  .pathname;
const FIVE_MB = 5_000_000;

/** `text` as chunks of `size` bytes, as a file stream delivers them. */
async function* chunks(text: string, size = 64 * 1024): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += size) {
    await Promise.resolve();
    yield bytes.subarray(at, at + size);
  }
}

async function readAll(text: string) {
  const stats = newStats();
  const packets: TcpPacket[] = [];
  for await (const packet of readTextCapture(chunks(text), 'cap.txt', stats)) packets.push(packet);
  return { packets, stats };
}

describe('LineSplitter', () => {
  it('splits text into the same lines whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[ -~]{0,40}$/), { maxLength: 20 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 10 }),
        (lines, finalNewline, cuts) => {
          const text = lines.join('\n') + (finalNewline && lines.length > 0 ? '\n' : '');
          const splitter = new LineSplitter();
          const out: SplitLine[] = [];
          let from = 0;
          for (const cut of [...cuts].sort((a, b) => a - b)) {
            out.push(...splitter.push(text.slice(from, Math.max(from, cut))));
            from = Math.max(from, cut);
          }
          out.push(...splitter.push(text.slice(from)), ...splitter.end());
          const expected = text === '' ? [] : text.split('\n');
          if (text.endsWith('\n')) expected.pop();
          assert.deepEqual(out, expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('holds at most 64 KiB of a 5 MB line without a newline, and gives it back as a long line', () => {
    const splitter = new LineSplitter();
    const piece = 'x'.repeat(64 * 1024);
    const out: SplitLine[] = [];
    let fed = 0;
    while (fed < FIVE_MB) {
      const part = piece.slice(0, Math.min(piece.length, FIVE_MB - fed));
      out.push(...splitter.push(part));
      fed += part.length;
      assert.ok(splitter.heldChars <= MAX_LINE_CHARS, `${splitter.heldChars} chars held`);
    }
    out.push(...splitter.push('\nnext'), ...splitter.end());
    assert.deepEqual(out, [{ kind: 'long', chars: FIVE_MB, start: 'x'.repeat(200) }, 'next']);
  });

  it('keeps a line of exactly 64 KiB and gives a longer one back as long', () => {
    const splitter = new LineSplitter();
    const kept = 'a'.repeat(MAX_LINE_CHARS);
    const out = splitter.push(`${kept}\n${kept}b\n`);
    assert.equal(out[0], kept);
    assert.deepEqual(out[1], { kind: 'long', chars: MAX_LINE_CHARS + 1, start: 'a'.repeat(200) });
  });
});

describe('readTextCapture with long lines', () => {
  it('refuses a 5 MB single line as no TCP, quoting line 1 as too long', async () => {
    await assert.rejects(readAll('x'.repeat(FIVE_MB)), (err: unknown) => {
      assert.ok(isGwError(err));
      assert.match(err.message, /line 1 \(longer than 64 KiB, skipped\): "x{200}…"/);
      return true;
    });
  });

  it('skips a 5 MB line inside a capture, counts it with its number, and reads the rest', async () => {
    const lines = readFileSync(FIXTURE, 'utf8').split('\n');
    const plain = await readAll(lines.join('\n'));
    lines.splice(3, 0, 'y'.repeat(FIVE_MB));
    const { packets, stats } = await readAll(lines.join('\n'));
    assert.equal(packets.length, plain.packets.length);
    assert.ok(packets.length > 100);
    assert.deepEqual(stats.longLines, { count: 1, first: [{ line: 4, chars: FIVE_MB }] });
  });
});
