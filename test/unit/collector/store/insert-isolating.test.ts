import { describe, expect, it } from 'vitest';
import { insertIsolating } from '../../../../collector/store/insert-isolating.js';
import { StorageError } from '../../../../collector/store/store.js';

/** A store that refuses any insert holding one of `bad`, and records what it stored. */
function fakeStore(bad: Set<number>) {
  const stored: number[] = [];
  let inserts = 0;
  const insert = async (part: readonly number[]) => {
    inserts++;
    if (part.some((x) => bad.has(x))) throw new StorageError('Code: 27. Cannot parse input', undefined, 'data');
    stored.push(...part);
  };
  return { stored, insert, inserts: () => inserts };
}

describe('insertIsolating', () => {
  const items = Array.from({ length: 1000 }, (_, i) => i);

  it('stores everything but the refused rows, dead-letters each of them once, in order', async () => {
    const s = fakeStore(new Set([37, 38, 999]));
    const refused: number[] = [];
    const r = await insertIsolating(() => s.insert(items), () => items, s.insert, async (x, detail) => {
      // A refused row is handed over before any later row is stored.
      expect(s.stored.some((y) => y > x)).toBe(false);
      expect(detail).toContain('Cannot parse');
      refused.push(x);
    });
    expect(refused).toEqual([37, 38, 999]);
    expect(r.refused).toEqual([37, 38, 999]);
    expect(s.stored.sort((a, b) => a - b)).toEqual(items.filter((x) => ![37, 38, 999].includes(x)));
    // About 2·log2(n) inserts per refused row, not one per row.
    expect(s.inserts()).toBeLessThan(3 * 2 * Math.ceil(Math.log2(1000)) + 1);
  });

  it('a batch the store takes is inserted once, and the row list is never built', async () => {
    const s = fakeStore(new Set());
    let built = false;
    await insertIsolating(() => s.insert(items), () => ((built = true), items), s.insert, async () => undefined);
    expect(s.inserts()).toBe(1);
    expect(built).toBe(false);
  });

  it('a single refused row is dead-lettered without another insert', async () => {
    const s = fakeStore(new Set([5]));
    const refused: number[] = [];
    await insertIsolating(() => s.insert([5]), () => [5], s.insert, async (x) => void refused.push(x));
    expect(refused).toEqual([5]);
    expect(s.inserts()).toBe(1);
  });

  it('an unavailable store is not a refusal: the error goes to the caller (who retries)', async () => {
    const down = async () => {
      throw new StorageError('connection refused');
    };
    await expect(insertIsolating(down, () => items, down, async () => undefined)).rejects.toThrow('connection refused');
    let calls = 0;
    const laterDown = async (part: readonly number[]) => {
      calls++;
      if (calls === 1) throw new StorageError('Cannot parse input', undefined, 'data');
      if (part.length < 1000) throw new StorageError('connection refused');
    };
    await expect(insertIsolating(() => laterDown(items), () => items, laterDown, async () => undefined)).rejects.toThrow('connection refused');
  });
});
