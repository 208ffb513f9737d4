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
