/**
 * The timestamps tcpdump prints at the start of each packet line, and how to
 * turn each form back into seconds since the epoch.
 *
 * | flag       | form                          | example                        |
 * |------------|-------------------------------|--------------------------------|
 * | (default)  | `clock`: local time of day    | `06:47:49.881498`              |
 * | `-t`       | `none`                        |                                |
 * | `-tt`      | `epoch`: seconds since 1970   | `1795762069.881498`            |
 * | `-ttt`     | `delta`: since previous line  | ` 00:00:00.000014`             |
 * | `-tttt`    | `datetime`: local date + time | `2026-11-27 06:47:49.881498`   |
 * | `-ttttt`   | `offset`: since first line    | ` 00:00:00.008316`             |
 *
 * `--time-stamp-precision=nano` prints nine fraction digits instead of six.
 * `-ttt` and `-ttttt` print a sign column (a space, or `-` when time went
 * backwards) before the hours; the two look alike line by line, so telling
 * them apart needs several lines ({@link sniffTimestampFormat}).
 */

export type TimestampFormat = 'clock' | 'none' | 'epoch' | 'delta' | 'datetime' | 'offset';

/** What a line's leading timestamp looks like, before a format gives it meaning. */
export type StampShape = 'clock' | 'signed' | 'epoch' | 'datetime';

/**
 * A timestamp as printed: whole seconds and nanoseconds kept as integers, so
 * sums of `-ttt` deltas do not drift and the final float equals what a pcap
 * reader computes from the same capture.
 */
export interface Stamp {
  shape: StampShape;
  /** Whole seconds: of the day (clock, signed), since the epoch (epoch, datetime). */
  seconds: number;
  nanos: number;
  negative: boolean;
  /** Index just past the timestamp and the space after it. */
  end: number;
}

const POW10 = [1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const SECONDS_PER_DAY = 86_400;
/** How far `-ttttt` offsets may fall (timestamps from different CPUs) before they are taken for `-ttt` deltas. */
const OFFSET_JITTER_SECONDS = 0.001;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** Reads `[digits]` at `at`; returns [value, end] or undefined when there are none. */
function digitsAt(text: string, at: number, max: number): [number, number] | undefined {
  let value = 0;
  let i = at;
  while (i < text.length && i - at < max) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) break;
    value = value * 10 + (code - 48);
    i++;
  }
  return i === at ? undefined : [value, i];
}

/** `.fraction ` at `at` (1–9 digits, then a space): [nanos, end after the space]. */
function fractionAt(text: string, at: number): [number, number] | undefined {
  if (text.charCodeAt(at) !== 46 /* . */) return undefined;
  const frac = digitsAt(text, at + 1, 9);
  if (frac === undefined) return undefined;
  const [value, end] = frac;
  if (text.charCodeAt(end) !== 32) return undefined;
  return [value * (POW10[9 - (end - at - 1)] ?? 1), end + 1];
}

/** `H+:MM:SS.f ` at `at`: [seconds, nanos, end]. */
function clockAt(text: string, at: number): [number, number, number] | undefined {
  const hours = digitsAt(text, at, 6);
  if (hours === undefined || text.charCodeAt(hours[1]) !== 58) return undefined;
  const minutes = digitsAt(text, hours[1] + 1, 2);
  if (minutes?.[1] !== hours[1] + 3 || text.charCodeAt(minutes[1]) !== 58) return undefined;
  const seconds = digitsAt(text, minutes[1] + 1, 2);
  if (seconds?.[1] !== minutes[1] + 3) return undefined;
  const frac = fractionAt(text, seconds[1]);
  if (frac === undefined || minutes[0] > 59 || seconds[0] > 60) return undefined;
  return [hours[0] * 3600 + minutes[0] * 60 + seconds[0], frac[0], frac[1]];
}

/** Parses the timestamp a tcpdump line starts with, whatever its form; undefined when none. */
export function parseStamp(text: string): Stamp | undefined {
  const first = text.charCodeAt(0);
  if (first === 32 || first === 45 /* - */) {
    const clock = clockAt(text, 1);
    if (clock === undefined) return undefined;
    const [seconds, nanos, end] = clock;
    return { shape: 'signed', seconds, nanos, negative: first === 45, end };
  }
  if (!isDigit(first)) return undefined;
  const lead = digitsAt(text, 0, 12);
  if (lead === undefined) return undefined;
  const [value, leadEnd] = lead;
  const next = text.charCodeAt(leadEnd);
  if (next === 46 /* . */) {
    const frac = fractionAt(text, leadEnd);
    if (frac === undefined) return undefined;
    return { shape: 'epoch', seconds: value, nanos: frac[0], negative: false, end: frac[1] };
  }
  if (next === 58 /* : */) {
    const clock = clockAt(text, 0);
    if (clock === undefined) return undefined;
    return { shape: 'clock', seconds: clock[0], nanos: clock[1], negative: false, end: clock[2] };
  }
  if (next === 45 && leadEnd === 4) return datetimeAt(text, value);
  return undefined;
}

function datetimeAt(text: string, year: number): Stamp | undefined {
  const month = digitsAt(text, 5, 2);
  if (month?.[1] !== 7 || text.charCodeAt(7) !== 45) return undefined;
  const day = digitsAt(text, 8, 2);
  if (day?.[1] !== 10 || text.charCodeAt(10) !== 32) return undefined;
  const clock = clockAt(text, 11);
  if (clock === undefined || month[0] < 1 || month[0] > 12 || day[0] < 1 || day[0] > 31) {
    return undefined;
  }
  const midnight = Date.UTC(year, month[0] - 1, day[0]) / 1000;
  return {
    shape: 'datetime',
    seconds: midnight + clock[0],
    nanos: clock[1],
    negative: false,
    end: clock[2],
  };
}

/** The format a stamp's shape implies on its own (signed stamps default to `offset`). */
export function formatOfShape(shape: StampShape): TimestampFormat {
  return shape === 'signed' ? 'offset' : shape;
}

/** How many lines are looked at to tell which timestamp form tcpdump printed. */
export const SNIFF_LINES = 1000;

/**
 * Tells the timestamp format from a capture's first lines (a few dozen are
 * plenty). `-ttt` deltas go down about as often as up; `-ttttt` offsets and
 * times of day only go up, but for a midnight wrap and the odd microsecond
 * of jitter between CPUs. Returns undefined when no line has a timestamp.
 */
export function sniffTimestampFormat(lines: Iterable<string>): TimestampFormat | undefined {
  let shape: StampShape | undefined;
  let previous = -1;
  let decreases = 0;
  let stamps = 0;
  for (const line of lines) {
    const stamp = parseStamp(line);
    if (stamp === undefined) continue;
    shape ??= stamp.shape;
    if (stamp.shape !== shape) continue;
    stamps++;
    const value = stamp.seconds + stamp.nanos / 1e9;
    if (value < previous && !(shape === 'clock' && previous - value > SECONDS_PER_DAY / 2)) {
      decreases++;
    }
    previous = value;
  }
  if (shape === undefined) return undefined;
  const deltas = decreases > 0 && decreases * 8 >= stamps;
  if (shape === 'signed') return deltas ? 'delta' : 'offset';
  // tcpdump before 4.99 printed -ttt deltas without the sign column.
  if (shape === 'clock' && deltas && decreases > 1) return 'delta';
  return shape;
}

/** Options that place the forms without a date on the calendar. */
export interface ClockOptions {
  /** Epoch seconds of the first day's midnight (clock) or of the first packet (delta, offset). */
  readonly anchorSeconds: number;
  /** Seconds east of UTC of the zone tcpdump printed local times in (clock, datetime). */
  readonly utcOffsetSeconds: number;
}

/**
 * Turns the stamps of successive lines into epoch seconds. Keeps the state
 * the relative forms need: the running sum of `-ttt` deltas and the day
 * count of times of day that wrapped past midnight.
 */
export class Clock {
  format: TimestampFormat | undefined;
  /** True while the format was guessed from a stamp's shape and may still change. */
  guessed: boolean;
  private readonly options: ClockOptions;
  private lastClockSeconds = -1;
  private dayOffset = 0;
  private lastOffset = -1;
  private sumSeconds = 0;
  private sumNanos = 0;

  constructor(format: TimestampFormat | undefined, options: ClockOptions) {
    this.format = format;
    this.guessed = format === undefined;
    this.options = options;
  }

  /** Epoch seconds for a stamp; settles the format on the first one when not given. */
  time(stamp: Stamp): number {
    if (this.format === undefined || this.format === 'none') {
      this.format = formatOfShape(stamp.shape);
    }
    const { anchorSeconds, utcOffsetSeconds } = this.options;
    switch (this.format) {
      case 'epoch':
        return stamp.seconds + stamp.nanos / 1e9;
      case 'datetime':
        return stamp.seconds - utcOffsetSeconds + stamp.nanos / 1e9;
      case 'clock':
        return this.timeOfDay(stamp) - utcOffsetSeconds + stamp.nanos / 1e9;
      case 'offset':
        return this.offset(stamp);
      case 'delta':
        return this.delta(stamp);
      default:
        return anchorSeconds + stamp.seconds + stamp.nanos / 1e9;
    }
  }

  private timeOfDay(stamp: Stamp): number {
    const seconds = stamp.seconds + this.dayOffset;
    // Past midnight the time of day starts again from 0 (tcpdump prints no date).
    if (this.lastClockSeconds >= 0 && seconds < this.lastClockSeconds - SECONDS_PER_DAY / 2) {
      this.dayOffset += SECONDS_PER_DAY;
    }
    this.lastClockSeconds = stamp.seconds + this.dayOffset;
    return this.options.anchorSeconds + this.lastClockSeconds;
  }

  private offset(stamp: Stamp): number {
    const sign = stamp.negative ? -1 : 1;
    const value = sign * (stamp.seconds + stamp.nanos / 1e9);
    if (this.guessed && value < this.lastOffset - OFFSET_JITTER_SECONDS) {
      // Offsets from the first packet never fall (but for a capture whose
      // clock stepped back): these are -ttt deltas after all.
      this.format = 'delta';
      this.sumSeconds = Math.floor(this.lastOffset);
      this.sumNanos = Math.round((this.lastOffset - this.sumSeconds) * 1e9);
      return this.delta(stamp);
    }
    this.lastOffset = value;
    return this.options.anchorSeconds + sign * stamp.seconds + (sign * stamp.nanos) / 1e9;
  }

  private delta(stamp: Stamp): number {
    const sign = stamp.negative ? -1 : 1;
    this.sumSeconds += sign * stamp.seconds;
    this.sumNanos += sign * stamp.nanos;
    if (this.sumNanos >= 1e9) {
      this.sumNanos -= 1e9;
      this.sumSeconds++;
    } else if (this.sumNanos < 0) {
      this.sumNanos += 1e9;
      this.sumSeconds--;
    }
    return this.options.anchorSeconds + this.sumSeconds + this.sumNanos / 1e9;
  }
}
