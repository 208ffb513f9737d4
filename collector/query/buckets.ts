/**
 * A time range cut into buckets, for the histogram and a container's stats: the asked width
 * (checked: whole seconds, not too many buckets) or, when none is asked, the smallest round
 * width that gives at most `autoBuckets`; and every bucket of the range, made empty first, so
 * the answer has them all whether or not a row fell in them.
 */
import { parseDurationMs } from '../../lib/env-config.js';
import { BadParameter, type Where } from './filters.js';

export interface BucketOptions {
  /** The query parameter the width comes from (named in a 400). */
  parameter: string;
  maxBuckets: number;
  autoBuckets: number;
  /** Round widths, in seconds, ascending. */
  nice: readonly number[];
  /** The widest width taken, in seconds. */
  maxStepS?: number;
}

export interface BucketRange {
  fromS: number;
  toS: number;
  step: number;
}

/** `where` must have `since` (the callers give it a default). */
export function bucketRange(where: Where, now: number, asked: string | undefined, o: BucketOptions): BucketRange {
  const fromS = Number((where.since as bigint) / 1_000_000_000n);
  const toS = where.until !== undefined ? Number((where.until - 1n) / 1_000_000_000n) + 1 : Math.ceil(now / 1000);
  const span = Math.max(1, toS - fromS);
  if (!asked) return { fromS, toS, step: o.nice.find((s) => span / s <= o.autoBuckets) ?? Math.ceil(span / o.autoBuckets) };
  const ms = parseDurationMs(asked);
  if (ms === undefined || ms < 1000 || ms % 1000 !== 0) throw new BadParameter(o.parameter, `"${asked}" is not a whole number of seconds (10s, 1m, 1h)`);
  if (o.maxStepS !== undefined && ms > o.maxStepS * 1000) throw new BadParameter(o.parameter, `${asked} is longer than the ${o.maxStepS / 86_400} days allowed`);
  const step = ms / 1000;
  const n = Math.ceil(span / step);
  if (n > o.maxBuckets) throw new BadParameter(o.parameter, `${asked} gives ${n} buckets over this range; at most ${o.maxBuckets} (use a wider ${o.parameter} or a shorter range)`);
  return { fromS, toS, step };
}

/** Every bucket of the range, in order, and each by its start (Unix seconds, as toStartOfInterval gives it). */
export function emptyBuckets<B>(r: BucketRange, make: (time: string) => B): { list: B[]; at: Map<number, B> } {
  const list: B[] = [];
  const at = new Map<number, B>();
  for (let t = Math.floor(r.fromS / r.step) * r.step; t < r.toS; t += r.step) {
    const b = make(new Date(t * 1000).toISOString());
    list.push(b);
    at.set(t, b);
  }
  return { list, at };
}
