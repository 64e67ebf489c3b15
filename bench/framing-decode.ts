/**
 * In-process decode throughput of gw's framing codecs, on one thread.
 *
 * For each framing in src/net/framing (line, length with a 4-byte header,
 * fixed), a wire buffer of whole frames is encoded once with gw's own
 * encoder, cut into chunks the way a socket delivers them (64 KiB reads, or
 * random sizes 1..65536 from a fixed seed), and fed through `decoder.push`.
 * Each gw decoder runs side by side with a naive reference decoder for the
 * same framing: `pending = Buffer.concat([pending, chunk])` on every chunk,
 * then every whole message sliced off the front. That is the pattern most
 * hand-written framers use; it copies every byte at least once.
 *
 * Workloads: (a) 16-byte messages, reported in messages/s (goal for length
 * framing: >= 5 million/s); (b) 64 KiB messages, reported in GB/s of wire
 * bytes (goal: >= 1 GB/s). Every run is checked: a decode pass first compares
 * every message with what was encoded, and each timed run must return the
 * exact message count and byte total.
 *
 *   node --import tsx bench/framing-decode.ts [--reps N] [--small-messages N] [--large-passes N]
 */
import { describeEnvironment, environment } from './lib/environment.js';
import { intFlag } from './lib/int-flag.js';
import { median, round } from './lib/median.js';
import { table, thousands, verdict } from './lib/table.js';
import { encodeFixed, fixedLengthDecoder } from '../src/net/framing/fixed-length.js';
import { encodeLengthPrefix, lengthPrefixDecoder } from '../src/net/framing/length-prefix.js';
import { encodeLine, lineDecoder } from '../src/net/framing/line.js';
import type { Decoder } from '../src/net/framing/types.js';

/** What the benchmark drives: the part of a decoder that decodes. */
type Pushable = Pick<Decoder, 'push' | 'buffered'>;

/** Goal for workload (a), length framing only. */
const GOAL_SMALL_MSGS_PER_S = 5_000_000;
/** Goal for workload (b), every gw codec (10^9 bytes per second of wire bytes). */
const GOAL_LARGE_GB_PER_S = 1;
/** Frame limit given to the gw decoders: above the largest message here. */
const MAX_FRAME_BYTES = 1024 * 1024;
const NEWLINE = Buffer.from('\n');
const CHUNK_BYTES = 64 * 1024;
const SEED = 0x9e3779b9;

type FramingName = 'line' | 'length' | 'fixed';

interface Framing {
  name: FramingName;
  encode: (message: Buffer) => Buffer;
  gw: () => Pushable;
  naive: () => Pushable;
}

/** The three framings for messages of `size` bytes (fixed frames are exactly `size`: no padding). */
function framings(size: number): Framing[] {
  return [
    {
      name: 'line',
      encode: (m) => encodeLine(m, NEWLINE, MAX_FRAME_BYTES),
      gw: () => lineDecoder(NEWLINE, MAX_FRAME_BYTES),
      naive: naiveLineDecoder,
    },
    {
      name: 'length',
      encode: (m) => encodeLengthPrefix(m, 4, MAX_FRAME_BYTES),
      gw: () => lengthPrefixDecoder(4, MAX_FRAME_BYTES),
      naive: naiveLengthDecoder,
    },
    {
      name: 'fixed',
      encode: (m) => encodeFixed(m, size, 0),
      gw: () => fixedLengthDecoder(size),
      naive: () => naiveFixedDecoder(size),
    },
  ];
}

// --- The naive references: concat on every chunk, then slice whole messages off. ---

/** Naive `\n` framing: concat, then scan the whole pending buffer for newlines. */
function naiveLineDecoder(): Pushable {
  let pending = Buffer.alloc(0);
  return {
    get buffered() {
      return pending.length;
    },
    push(chunk: Buffer): Buffer[] {
      pending = Buffer.concat([pending, chunk]);
      const out: Buffer[] = [];
      let start = 0;
      let at = pending.indexOf(0x0a, start);
      while (at >= 0) {
        out.push(pending.subarray(start, at));
        start = at + 1;
        at = pending.indexOf(0x0a, start);
      }
      pending = pending.subarray(start);
      return out;
    },
  };
}

/** Naive 4-byte big-endian length framing. */
function naiveLengthDecoder(): Pushable {
  let pending = Buffer.alloc(0);
  return {
    get buffered() {
      return pending.length;
    },
    push(chunk: Buffer): Buffer[] {
      pending = Buffer.concat([pending, chunk]);
      const out: Buffer[] = [];
      let offset = 0;
      while (pending.length - offset >= 4) {
        const size = pending.readUInt32BE(offset);
        if (pending.length - offset - 4 < size) break;
        out.push(pending.subarray(offset + 4, offset + 4 + size));
        offset += 4 + size;
      }
      pending = pending.subarray(offset);
      return out;
    },
  };
}

/** Naive fixed-length framing. */
function naiveFixedDecoder(frameSize: number): Pushable {
  let pending = Buffer.alloc(0);
  return {
    get buffered() {
      return pending.length;
    },
    push(chunk: Buffer): Buffer[] {
      pending = Buffer.concat([pending, chunk]);
      const out: Buffer[] = [];
      let offset = 0;
      while (pending.length - offset >= frameSize) {
        out.push(pending.subarray(offset, offset + frameSize));
        offset += frameSize;
      }
      pending = pending.subarray(offset);
      return out;
    },
  };
}

// --- Test data. ---

/** mulberry32: a small seeded PRNG, so every run cuts the same chunks. Returns [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct payloads of `size` bytes, lowercase letters only (never a newline). */
function payloads(count: number, size: number, random: () => number): Buffer[] {
  return Array.from({ length: count }, () => {
    const b = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) b[i] = 0x61 + Math.floor(random() * 26);
    return b;
  });
}

/** The wire bytes of `messages` messages: payload i is `pool[i % pool.length]`, framed by gw's encoder. */
function encodeWire(framing: Framing, pool: readonly Buffer[], messages: number): Buffer {
  const frames = pool.map((m) => framing.encode(m));
  const total = frames.reduce((n, f) => n + f.length, 0) * Math.ceil(messages / pool.length);
  const wire = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < messages; i++) {
    const frame = frames[i % frames.length] ?? Buffer.alloc(0);
    offset += frame.copy(wire, offset);
  }
  return wire.subarray(0, offset);
}

/** Cuts `wire` into views: `CHUNK_BYTES` each, or random sizes 1..65536 from a fixed seed. */
function cut(wire: Buffer, chunking: Chunking): Buffer[] {
  const random = prng(SEED);
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < wire.length;) {
    const size = chunking === 'random' ? 1 + Math.floor(random() * CHUNK_BYTES) : CHUNK_BYTES;
    chunks.push(wire.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

type Chunking = '64k' | 'random';
const CHUNKINGS: readonly Chunking[] = ['64k', 'random'];
const CHUNKING_LABEL: Record<Chunking, string> = { '64k': '64 KiB', random: 'rand 1..64K' };

// --- Measuring. ---

interface Workload {
  label: string;
  size: number;
  /** Messages in the wire buffer. */
  messages: number;
  /** Times the whole chunk list is fed per timed run. */
  passes: number;
  reps: number;
}

/** Decodes the wire once and compares every message with its payload; throws on any difference. */
function verify(
  decoder: Pushable,
  chunks: readonly Buffer[],
  pool: readonly Buffer[],
  messages: number,
  what: string,
): void {
  let index = 0;
  for (const chunk of chunks) {
    for (const message of decoder.push(chunk)) {
      const want = pool[index % pool.length];
      if (want?.equals(message) !== true) {
        throw new Error(`${what}: message #${index} decoded wrong (${message.length} bytes)`);
      }
      index++;
    }
  }
  if (index !== messages || decoder.buffered !== 0) {
    throw new Error(
      `${what}: decoded ${index} of ${messages} messages, ${decoder.buffered} bytes left over`,
    );
  }
}

/** One timed run: `passes` times through all chunks with a fresh decoder. Returns seconds. */
function timeRun(
  make: () => Pushable,
  chunks: readonly Buffer[],
  passes: number,
  expectMessages: number,
  expectBytes: number,
  what: string,
): number {
  const decoder = make();
  let messages = 0;
  let bytes = 0;
  const started = process.hrtime.bigint();
  for (let pass = 0; pass < passes; pass++) {
    for (const chunk of chunks) {
      const out = decoder.push(chunk);
      messages += out.length;
      for (const m of out) bytes += m.length;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (messages !== expectMessages || bytes !== expectBytes) {
    throw new Error(
      `${what}: timed run decoded ${messages} messages / ${bytes} bytes, expected ${expectMessages} / ${expectBytes}`,
    );
  }
  return seconds;
}

interface Result {
  workload: string;
  framing: FramingName;
  chunking: Chunking;
  decoder: 'gw' | 'naive';
  messagesPerSecond: number;
  gbPerSecond: number;
  /** gw's throughput over the naive decoder's (on the naive rows: 1). */
  vsNaive: number;
  goal: boolean | undefined;
}

function runWorkload(workload: Workload): Result[] {
  const random = prng(SEED ^ workload.size);
  const pool = payloads(workload.size >= 1024 ? 4 : 4096, workload.size, random);
  const results: Result[] = [];
  for (const framing of framings(workload.size)) {
    const wire = encodeWire(framing, pool, workload.messages);
    for (const chunking of CHUNKINGS) {
      const chunks = cut(wire, chunking);
      const what = `${workload.label} ${framing.name} ${chunking}`;
      verify(framing.gw(), chunks, pool, workload.messages, `${what} gw`);
      verify(framing.naive(), chunks, pool, workload.messages, `${what} naive`);
      const expectMessages = workload.messages * workload.passes;
      const expectBytes = workload.size * expectMessages;
      const seconds = { gw: [] as number[], naive: [] as number[] };
      // Interleaved, gw then naive, so drift in machine load hits both alike.
      for (let rep = 0; rep < workload.reps; rep++) {
        seconds.gw.push(
          timeRun(framing.gw, chunks, workload.passes, expectMessages, expectBytes, what),
        );
        seconds.naive.push(
          timeRun(framing.naive, chunks, workload.passes, expectMessages, expectBytes, what),
        );
      }
      const rate = (s: readonly number[]): { msgs: number; gb: number } => {
        const t = median(s);
        return { msgs: expectMessages / t, gb: (wire.length * workload.passes) / t / 1e9 };
      };
      const gw = rate(seconds.gw);
      const naive = rate(seconds.naive);
      const goal =
        workload.size < 1024
          ? framing.name === 'length'
            ? gw.msgs >= GOAL_SMALL_MSGS_PER_S
            : undefined
          : gw.gb >= GOAL_LARGE_GB_PER_S;
      const base = { workload: workload.label, framing: framing.name, chunking };
      results.push(
        {
          ...base,
          decoder: 'gw',
          messagesPerSecond: gw.msgs,
          gbPerSecond: gw.gb,
          vsNaive: gw.msgs / naive.msgs,
          goal,
        },
        {
          ...base,
          decoder: 'naive',
          messagesPerSecond: naive.msgs,
          gbPerSecond: naive.gb,
          vsNaive: 1,
          goal: undefined,
        },
      );
      process.stderr.write('.');
    }
  }
  process.stderr.write('\n');
  return results;
}

function printTable(results: readonly Result[], small: boolean): void {
  const goalText = small
    ? `>= ${GOAL_SMALL_MSGS_PER_S / 1e6}M msgs/s`
    : `>= ${GOAL_LARGE_GB_PER_S} GB/s`;
  const rows = results.map((r) => [
    r.framing,
    CHUNKING_LABEL[r.chunking],
    r.decoder,
    thousands(r.messagesPerSecond),
    r.gbPerSecond.toFixed(small ? 3 : 2),
    r.decoder === 'gw' ? `${r.vsNaive.toFixed(2)}x` : '',
    r.goal === undefined ? '' : `${verdict(r.goal)} (${goalText})`,
  ]);
  console.log(
    table(['framing', 'chunks', 'decoder', 'msgs/s', 'GB/s', 'vs naive', 'goal'], rows, [
      'left',
      'left',
      'left',
      'right',
      'right',
      'right',
      'left',
    ]),
  );
}

function main(): void {
  const reps = intFlag('--reps', 7);
  const smallMessages = intFlag('--small-messages', 4_000_000);
  const largePasses = intFlag('--large-passes', 16);
  const env = environment();
  const small: Workload = { label: '16 B', size: 16, messages: smallMessages, passes: 1, reps };
  // 1024 messages of 64 KiB = a 64 MiB wire buffer, fed `largePasses` times (16: 1 GiB per run).
  const large: Workload = {
    label: '64 KiB',
    size: 64 * 1024,
    messages: 1024,
    passes: largePasses,
    reps,
  };
  console.log(`framing-decode: median of ${reps} runs, gw and naive interleaved, one thread`);
  console.log(describeEnvironment(env));

  const smallResults = runWorkload(small);
  console.log(`\n(a) ${thousands(small.messages)} messages of 16 bytes per run`);
  printTable(smallResults, true);

  const largeResults = runWorkload(large);
  const gib = (large.messages * large.size * large.passes) / 2 ** 30;
  console.log(`\n(b) messages of 64 KiB, ${gib.toFixed(2)} GiB of payload per run`);
  printTable(largeResults, false);
  console.log(
    'note: with fixed 64 KiB frames and 64 KiB chunks every chunk is exactly one frame, which gw\n' +
      'returns as a view without touching its bytes: that row measures per-call cost, not bytes.',
  );
  console.log();
  console.log(
    JSON.stringify({
      bench: 'framing-decode',
      ...env,
      reps,
      goals: {
        smallLengthMsgsPerSecond: GOAL_SMALL_MSGS_PER_S,
        largeGbPerSecond: GOAL_LARGE_GB_PER_S,
      },
      results: [...smallResults, ...largeResults].map((r) => ({
        ...r,
        messagesPerSecond: Math.round(r.messagesPerSecond),
        gbPerSecond: round(r.gbPerSecond),
        vsNaive: round(r.vsNaive, 3),
      })),
    }),
  );
}

main();
