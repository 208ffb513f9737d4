/**
 * Waiting to try again, one way for every part: a wait that doubles from `minMs` up to `maxMs`,
 * each drawn at random from the upper half of its step ("equal jitter"), so that agents or
 * collectors that failed together (a broker restart, a store coming back) do not retry in step.
 */

export class Backoff {
  private step: number;

  constructor(
    readonly minMs: number,
    readonly maxMs: number,
  ) {
    this.step = minMs;
  }

  /** The wait before the next attempt; the step after it doubles. */
  next(): number {
    const step = this.step;
    this.step = Math.min(step * 2, this.maxMs);
    return Math.round(step / 2 + Math.random() * (step / 2));
  }

  /** After a success: the next failure waits minMs again. */
  reset(): void {
    this.step = this.minMs;
  }
}

/** Resolves after ms, or as soon as the signal is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface RetryOptions {
  minMs: number;
  maxMs: number;
  /** False for an error no retry can cure: it is thrown at once. Default: every error is retried. */
  retriable?: (err: unknown) => boolean;
  /** Before each wait (log it, count it, clean up); what it throws ends the retries. */
  onError?: (err: unknown, waitMs: number) => void | Promise<void>;
  /** Once aborted, the last error is thrown instead of waiting again. */
  signal?: AbortSignal;
}

/** Runs op until it succeeds, waiting with Backoff between attempts (see RetryOptions). */
export async function retry<T>(op: () => Promise<T>, o: RetryOptions): Promise<T> {
  const backoff = new Backoff(o.minMs, o.maxMs);
  while (true) {
    try {
      return await op();
    } catch (err) {
      if ((o.retriable && !o.retriable(err)) || o.signal?.aborted) throw err;
      const wait = backoff.next();
      await o.onError?.(err, wait);
      await sleep(wait, o.signal);
      if (o.signal?.aborted) throw err;
    }
  }
}
