/** The one backoff and retry every part uses: jittered doubling, permanent errors, abort. */
import { describe, expect, it } from 'vitest';
import { Backoff, retry, sleep } from '../../../lib/retry.js';

describe('Backoff', () => {
  it('doubles up to its ceiling, each wait in the upper half of its step, and starts over after reset', () => {
    const b = new Backoff(100, 1_000);
    const steps = [100, 200, 400, 800, 1_000, 1_000];
    for (let round = 0; round < 50; round++) {
      for (const step of steps) {
        const w = b.next();
        expect(w).toBeGreaterThanOrEqual(step / 2);
        expect(w).toBeLessThanOrEqual(step);
      }
      b.reset();
    }
  });

  it('spreads the waits of clients that failed together', () => {
    const waits = new Set(Array.from({ length: 20 }, () => new Backoff(1_000, 60_000).next()));
    expect(waits.size).toBeGreaterThan(10);
  });
});

describe('retry', () => {
  it('tries again until the operation succeeds, telling onError each wait', async () => {
    let calls = 0;
    const waits: number[] = [];
    const r = await retry(async () => (++calls < 4 ? Promise.reject(new Error(`fail ${calls}`)) : 'ok'), { minMs: 2, maxMs: 8, onError: (_e, w) => void waits.push(w) });
    expect(r).toBe('ok');
    expect(calls).toBe(4);
    expect(waits).toHaveLength(3);
  });

  it('throws a permanent error at once', async () => {
    let calls = 0;
    const permanent = new Error('no such thing');
    await expect(retry(async () => {
      calls++;
      throw permanent;
    }, { minMs: 1, maxMs: 1, retriable: (e) => e !== permanent })).rejects.toBe(permanent);
    expect(calls).toBe(1);
  });

  it('stops waiting when aborted, with the last error', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = retry(async () => {
      throw new Error('still down');
    }, { minMs: 60_000, maxMs: 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toThrow('still down');
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('sleep ends early on abort and does not start on an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    await sleep(60_000, ac.signal);
  });
});
