import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BurstResult } from '../../../src/net/tcp-echo/events.js';
import { labScenarios, type LabRun } from '../../../src/net/tcp-echo/lab.js';
import { labText } from '../../../src/net/tcp-echo/lab-report.js';
import {
  burstText,
  readText,
  renderInteractiveEvent,
  renderServerEvent,
} from '../../../src/net/tcp-echo/report.js';

function burst(framing: string, extra: Partial<BurstResult> = {}): BurstResult {
  return {
    framing,
    messagesSent: 50,
    writes: 50,
    bytesSent: 800,
    reads: 3,
    bytesReceived: 800,
    messagesReceived: 50,
    mismatches: 0,
    stickyReads: 2,
    splitReads: 1,
    naiveWrong: 3,
    elapsedMs: 2,
    messagesPerSecond: 25000,
    ...extra,
  };
}

describe('tcp-echo text output', () => {
  it('shows Chinese messages as text on the server and in the client', () => {
    const read = readText({
      type: 'read',
      conn: 1,
      peer: '127.0.0.1:5000',
      read: 1,
      bytes: 7,
      messages: 1,
      carried: 0,
      samples: [Buffer.from('你好')],
    });
    assert.match(read, /"你好"/);
    const data = Buffer.from('你好');
    const echo = renderInteractiveEvent({ type: 'echo', read: 1, message: '你好', data }, 'text');
    assert.equal(echo?.text, 'echo: "你好"');
    const sent = renderInteractiveEvent(
      { type: 'sent', message: '你好', bytes: 7, framingBytes: 1, data },
      'text',
    );
    assert.match(sent?.text ?? '', /"你好"/);
    // JSON keeps the text and leaves the raw bytes out.
    const json = renderInteractiveEvent({ type: 'echo', read: 1, message: '你好', data }, 'json');
    assert.deepEqual(JSON.parse(json?.text ?? ''), { type: 'echo', read: 1, message: '你好' });
  });

  it('counts a raw burst in bytes, since raw framing has no messages', () => {
    const text = burstText(burst('raw (no framing: one read = one message)'), 16).join('\n');
    assert.doesNotMatch(text, /messages received|messages decoded/);
    assert.match(text, /bytes echoed\s+800 of 800 bytes came back/);
    const framed = burstText(burst('length (4-byte big-endian header)'), 16).join('\n');
    assert.match(framed, /messages decoded\s+50 of 50/);
  });

  it('says every burst number is counted on the client, and what a read is', () => {
    const text = burstText(burst('raw'), 16).join('\n');
    assert.match(text, /client writes\s+50/);
    assert.match(text, /client reads\s+3 .*not TCP segments/);
    assert.match(text, /sticky reads\s+2 .*client reads/);
  });

  it('explains why --nodelay can show fewer reads, in English and Chinese', () => {
    const off = burstText(burst('raw'), 16, { noDelay: true }).join('\n');
    assert.match(off, /--nodelay turned Nagle off/);
    assert.match(off, /not mean fewer segments/);
    const on = burstText(burst('raw'), 16, { noDelay: false }).join('\n');
    assert.match(on, /Nagle's algorithm was on/);
    assert.match(on, /delayed ACK/);
    const zh = burstText(burst('raw'), 16, { noDelay: true, lang: 'zh' }).join('\n');
    assert.match(zh, /关闭了 Nagle/);
    assert.match(zh, /客户端读次数\s+3/);
  });

  it('prints the hint of a refused frame on the server', () => {
    const line = renderServerEvent(
      {
        type: 'frame-error',
        conn: 1,
        peer: 'p',
        code: 'GW_ERR_FRAME_TOO_LARGE',
        message: 'length header announces a frame: 1751477356 bytes exceeds the limit',
        hint: "is the client using the same framing? (those bytes are the text 'hell')",
      },
      false,
      false,
    );
    assert.match(line?.text ?? '', /'hell'/);
  });
});

function labRuns(size: number, reads: number, splits: number): LabRun[] {
  return labScenarios(size).map((s) => ({
    title: s.title,
    scenario: s.kind,
    framing: s.spec.framing,
    readBytes: s.readBytes,
    result: burst(s.spec.framing, { reads, splitReads: splits }),
  }));
}

describe('tcp-echo lab text', () => {
  it('names the read buffer the fix rows used, and says the splits come from it', () => {
    const text = labText(labRuns(24, 88, 88), 50, 24);
    assert.match(text, /fix 1: length header, 16-byte reads/);
    assert.match(text, /fix 3: delimiter, 16-byte reads/);
    assert.match(text, /same 16-byte buffer as the split row/);
    assert.match(text, /counted on the client/);
  });

  it('does not promise cut messages when a message is too small to cut', () => {
    const text = labText(labRuns(1, 50, 0), 50, 1);
    assert.doesNotMatch(text, /reads cut messages/);
    assert.match(text, /too small a message to cut/);
    assert.match(text, /--size 2 or more/);
  });

  it('has every sentence in Chinese with --lang zh', () => {
    const text = labText(labRuns(24, 88, 88), 50, 24, 'zh');
    assert.match(text, /解法 1：长度头，读缓冲 16 字节/);
    assert.match(text, /所有数字都在客户端统计/);
    assert.doesNotMatch(text, /TCP is a byte stream/);
  });
});
