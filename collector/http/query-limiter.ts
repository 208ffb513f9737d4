/**
 * At most `max` store queries at once from the HTTP API (pages, histograms, tail polls). A
 * request waits up to `maxWaitMs` for its turn; past that, or with `maxQueue` already
 * waiting, it is refused with Busy, answered as 429 with Retry-After. Tail polls wait as long
 * as it takes (they are paced already): fifty heavy queries or two hundred tail clients slow
 * each other down, but the process keeps answering.
 */
import type { LogStore, QueryParams } from '../store/store.js';

export class Busy extends Error {
  constructor(readonly setting: string) {
    super(`too many queries at once (${setting}); retry shortly`);
  }
}

interface Waiter {
  start: () => void;
  timer?: NodeJS.Timeout;
}

export class QueryLimiter {
  private active = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    readonly max: number,
    readonly maxWaitMs = 2_000,
    readonly maxQueue = 256,
    /** Told each time a request is refused (for the metric). */
    private readonly onBusy?: () => void,
  ) {}

  private busy(): Busy {
    this.onBusy?.();
    return new Busy('SHIPLOG_API_MAX_QUERIES');
  }

  get running(): number {
    return this.active;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Runs fn when a slot is free; `wait: 'forever'` for callers that must not be refused. */
  async run<T>(fn: () => Promise<T>, wait: 'bounded' | 'forever' = 'bounded'): Promise<T> {
    if (this.active >= this.max) {
      if (wait === 'bounded' && this.queue.length >= this.maxQueue) throw this.busy();
      await new Promise<void>((resolve, reject) => {
        const w: Waiter = { start: resolve };
        if (wait === 'bounded') {
          w.timer = setTimeout(() => {
            const i = this.queue.indexOf(w);
            if (i !== -1) this.queue.splice(i, 1);
            reject(this.busy());
          }, this.maxWaitMs);
        }
        this.queue.push(w);
      });
    } else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.queue.shift();
      if (next) {
        // The slot passes straight to the next waiter.
        clearTimeout(next.timer);
        next.start();
      } else this.active--;
    }
  }
}

/** The store as the API routes see it: every query takes its turn in the limiter. */
export function limitedStore(store: LogStore, limiter: QueryLimiter, wait: 'bounded' | 'forever' = 'bounded'): LogStore {
  return {
    kind: store.kind,
    get database() {
      return store.database;
    },
    exec: (sql: string) => limiter.run(() => store.exec(sql), wait),
    query: <T>(sql: string, params?: QueryParams) => limiter.run(() => store.query<T>(sql, params), wait),
    queryWithStats: <T>(sql: string, params?: QueryParams) => limiter.run(() => store.queryWithStats<T>(sql, params), wait),
    insertTsv: (...a: Parameters<LogStore['insertTsv']>) => store.insertTsv(...a),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}
