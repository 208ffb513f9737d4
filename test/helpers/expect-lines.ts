/** Exact comparison of shipped lines with what containers printed, without dumping megabytes. */
import { expect } from 'vitest';
import type { ShippedLine } from './kafka-read.js';

export function streamOf(lines: ShippedLine[], s: 'stdout' | 'stderr'): Buffer[] {
  return lines.filter((l) => l.stream === s).map((l) => l.bytes);
}

export function seqLines(prefix: string, from: number, to: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = from; i <= to; i++) out.push(Buffer.from(`${prefix}${i}`));
  return out;
}

export function sameLines(actual: Buffer[], wanted: Buffer[], what: string): void {
  const n = Math.min(actual.length, wanted.length);
  for (let i = 0; i < n; i++) {
    if (!(actual[i] as Buffer).equals(wanted[i] as Buffer)) {
      expect.fail(
        `${what}: line ${i} differs: got ${JSON.stringify((actual[i] as Buffer).subarray(0, 80).toString('latin1'))} (${actual[i]?.length} bytes), want ${JSON.stringify((wanted[i] as Buffer).subarray(0, 80).toString('latin1'))} (${wanted[i]?.length} bytes)`,
      );
    }
  }
  expect(actual.length, `${what}: number of lines`).toBe(wanted.length);
}

/** Lines of `wanted` missing from `actual`, one run of consecutive lines each, with the timestamps of the shipped lines either side. */
export interface MissingRun {
  first: number;
  count: number;
  /** Timestamp of the shipped line before the run and of the one after it. */
  after: string | undefined;
  before: string | undefined;
}

/**
 * Checks that `actual` is `wanted` with runs of lines left out, nothing else: each line shipped
 * is the next wanted line or a later one (no duplicate, no reordering, no alteration); returns
 * the runs left out.
 */
export function missingRuns(actual: ShippedLine[], wanted: Buffer[], what: string): MissingRun[] {
  const runs: MissingRun[] = [];
  let j = 0;
  for (const [i, a] of actual.entries()) {
    const from = j;
    while (j < wanted.length && !(wanted[j] as Buffer).equals(a.bytes)) j++;
    if (j === wanted.length) {
      expect.fail(`${what}: line ${i} (${JSON.stringify(a.bytes.subarray(0, 80).toString('latin1'))}) is not a later wanted line: altered, duplicated or out of order`);
    }
    if (j > from) runs.push({ first: from, count: j - from, after: actual[i - 1]?.ts, before: a.ts });
    j++;
  }
  if (j < wanted.length) runs.push({ first: j, count: wanted.length - j, after: actual.at(-1)?.ts, before: undefined });
  return runs;
}
