import { invalidArgument } from '../../shared/errors.js';
import { describeDelimiter, parseDelimiter } from './delimiter.js';
import { DEFAULT_MAX_FRAME_BYTES, type FramingName, type FramingSpec } from './types.js';

/** Framing choices as they arrive from the command line (strings, unvalidated). */
export interface FramingFlags {
  framing?: string;
  delimiter?: string;
  lengthBytes?: string;
  frameSize?: string;
  padByte?: string;
  maxFrameBytes?: string;
}

const FRAMINGS: readonly FramingName[] = ['line', 'length', 'fixed', 'raw'];

/** Default size of one fixed frame, in bytes. */
export const DEFAULT_FRAME_SIZE = 64;

/**
 * Validates framing flags into a {@link FramingSpec}. Every problem is a
 * GW_ERR_INVALID_ARGUMENT naming the flag, the value and what is allowed.
 */
export function framingSpec(flags: FramingFlags): FramingSpec {
  const name = flags.framing ?? 'line';
  if (!(FRAMINGS as readonly string[]).includes(name)) {
    throw invalidArgument('--framing', name, `choose one of ${FRAMINGS.join(', ')}`);
  }
  const maxFrameBytes = positiveInt(
    '--max-frame-bytes',
    flags.maxFrameBytes,
    DEFAULT_MAX_FRAME_BYTES,
  );
  switch (name as FramingName) {
    case 'line':
      return {
        framing: 'line',
        delimiter: parseDelimiter(flags.delimiter ?? '\\n'),
        maxFrameBytes,
      };
    case 'length': {
      const width = flags.lengthBytes ?? '4';
      if (width !== '1' && width !== '2' && width !== '4') {
        throw invalidArgument('--length-bytes', width, 'choose 1, 2 or 4');
      }
      return { framing: 'length', lengthBytes: Number(width) as 1 | 2 | 4, maxFrameBytes };
    }
    case 'fixed': {
      const frameSize = positiveInt('--frame-size', flags.frameSize, DEFAULT_FRAME_SIZE);
      if (frameSize > maxFrameBytes) {
        throw invalidArgument(
          '--frame-size',
          frameSize,
          `must not exceed --max-frame-bytes (${maxFrameBytes})`,
        );
      }
      return { framing: 'fixed', frameSize, padByte: padByte(flags.padByte) };
    }
    case 'raw':
      return { framing: 'raw' };
  }
}

/** Parses a positive integer flag, accepting `k`/`m` suffixes (KiB, MiB). */
export function positiveInt(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const match = /^(\d+)([kKmM]?)$/.exec(value.trim());
  const unit = match?.[2]?.toLowerCase();
  const n = match ? Number(match[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw invalidArgument(
      flag,
      value,
      'expected a positive whole number (suffixes k and m allowed)',
    );
  }
  return n;
}

function padByte(value: string | undefined): number {
  if (value === undefined) return 0;
  const bytes = parseDelimiter(value);
  if (bytes.length !== 1)
    throw invalidArgument('--pad-byte', value, 'must be exactly one byte, like \\0 or " "');
  return bytes[0] ?? 0;
}

/** A one-line description of a framing, for banners: `length (4-byte header)`. */
export function describeFraming(spec: FramingSpec): string {
  switch (spec.framing) {
    case 'line':
      return `line (delimiter ${describeDelimiter(spec.delimiter)})`;
    case 'length':
      return `length (${spec.lengthBytes}-byte big-endian header)`;
    case 'fixed':
      return `fixed (${spec.frameSize}-byte frames)`;
    case 'raw':
      return 'raw (no framing: one read = one message)';
  }
}
