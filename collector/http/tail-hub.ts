/**
 * The live tail's engine. Clients with the same filters share one poll of the store (a
 * group): four times a second the group reads, oldest first and page by page, from LATE_MS
 * before the newest line it has seen (lines of other containers can be stored after newer
 * ones), skips lines it has seen (by exact position, see logs-page.ts) and hands each new line
 * to every subscriber. Polls take their turn in the API's query limiter, so a crowd of tail
 * clients slows itself down instead of starving the rest of the API.
 *
 * Each subscriber writes into its own socket. After each page the group waits (at most
 * DRAIN_GRACE_MS) for the sockets to drain; a client that still has more than
 * `maxBufferedBytes` waiting then gets an `end` event (reason `slow_reader`) and the stream
 * is closed. Memory per client is bounded by that plus one page (PAGE_BYTES), never by its
 * slowness. Closing the hub (server
 * shutdown) ends every stream with reason `shutdown`.
 */
import type { ServerResponse } from 'node:http';
import type { LogFilters } from '../query/filters.js';
import { buildPageQuery, decodeCursor, encodeCursor, positionOf, readPage, toLine, type LineRow, type PageLimits } from '../query/logs-page.js';
import { LOGS_TABLE } from '../store/schema.js';
import type { LogStore } from '../store/store.js';

const POLL_MS = 250;

/** A cursor's time in ms. */
const cursorMs = (c: string) => Number(BigInt(decodeCursor(c).tsNs) / 1_000_000n);
/** How much later than a newer line a line may be stored and still be tailed. */
export const LATE_MS = 5000;
/** Pages read per poll at most; a faster stream than this is sent at this pace. */
const PAGES_PER_POLL = 20;
const PAGE_LINES = 2_000;
/** The most line text one tail page holds (a page is written to every subscriber in one go). */
const PAGE_BYTES = 4 * 1024 ** 2;
/** How long a page waits for the subscribers' sockets to drain before the slow ones are ended. */
const DRAIN_GRACE_MS = 2_000;
const KEEPALIVE_MS = 15_000;
/** A stream ended for a slow reader is cut this long after its end event if the client still has not read it. */
const DESTROY_AFTER_MS = 5_000;

export interface TailOptions {
  maxClients: number;
  maxBufferedBytes: number;
  /** Told each time a stream ends, with why. */
  onEnd?: (reason: EndReason) => void;
  /** Told when a poll of the store fails (the clients get an `error` event; the poll is retried). */
  onPollError?: (err: unknown) => void;
  /** Told each time a new stream is refused because maxClients are open (for the metric). */
  onRefused?: () => void;
}

export type EndReason = 'slow_reader' | 'shutdown' | 'closed';

export class Subscriber {
  ended = false;
  /** Deliveries held while the backlog is read. */
  private pending: { r: LineRow; t: number }[] | undefined = [];
  private floor = -Infinity;
  private seen: Set<string> | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly maxBufferedBytes: number,
    private readonly onEnd: (s: Subscriber, reason: EndReason) => void,
  ) {}

  /**
   * Sends the backlog, then what the group found meanwhile, then goes live. Lines older than
   * the backlog's newest (or, without a backlog, than `since`) are not sent later; neither are
   * `stored`, the lines already stored after `since` when a client asked for no backlog.
   */
  start(backlog: LineRow[], since: number, stored: LineRow[] = []): void {
    this.seen = new Set();
    for (const r of stored) this.seen.add(encodeCursor(positionOf(r)));
    let newest = -Infinity;
    for (const r of backlog) {
      this.seen.add(encodeCursor(positionOf(r)));
      newest = Math.max(newest, Date.parse(r.timestamp));
      this.send(r);
    }
    this.floor = backlog.length ? newest : since;
    const held = this.pending ?? [];
    this.pending = undefined;
    for (const { r, t } of held) this.offer(r, t);
  }

  offer(r: LineRow, t: number): void {
    if (this.ended) return;
    if (this.pending) {
      // Held while the backlog is read; bounded like the socket.
      if (this.pending.length >= PAGE_LINES * PAGES_PER_POLL) return this.end('slow_reader');
      this.pending.push({ r, t });
      return;
    }
    if (t < this.floor) return;
    if (this.seen?.size) {
      const k = encodeCursor(positionOf(r));
      if (this.seen.has(k)) return;
    }
    this.send(r);
  }

  /** Each line's position is its event id: a client that reconnects with Last-Event-ID resumes after it (tail-route.ts). */
  private send(r: LineRow): void {
    this.write(`id: ${encodeCursor(positionOf(r))}\ndata: ${JSON.stringify(toLine(r))}\n\n`);
  }

  write(text: string): void {
    if (this.ended) return;
    this.res.write(text);
  }

  /** More than the allowed bytes wait unread in the socket. */
  get congested(): boolean {
    return !this.ended && this.res.writableLength > this.maxBufferedBytes;
  }

  /** Resolves when the socket has drained below the limit (or the stream ended). */
  drained(): Promise<void> {
    if (!this.congested) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (this.congested && !this.res.destroyed) return;
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  /** Ends the stream with an `end` event saying why; a client that does not read it is cut off. */
  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    this.pending = undefined;
    this.seen = undefined;
    if (reason !== 'closed' && !this.res.destroyed) {
      const message =
        reason === 'slow_reader'
          ? `the client read more slowly than lines arrived; more than ${this.maxBufferedBytes} bytes waited (reconnect to continue)`
          : 'the server is stopping';
      this.res.write(`event: end\ndata: ${JSON.stringify({ reason, message })}\n\n`);
      const socket = this.res.socket;
      this.res.end();
      // The socket itself: the response may have let go of it on end().
      setTimeout(() => socket?.destroy(), DESTROY_AFTER_MS).unref();
    }
    this.onEnd(this, reason);
  }
}

class TailGroup {
  readonly subscribers = new Set<Subscriber>();
  /** Lines seen within the lateness window, by position, with their time (ms). */
  private readonly sent = new Map<string, number>();
  private newest = Date.now() - LATE_MS;
  private lastBeat = Date.now();
  /** Where a poll that read its PAGES_PER_POLL stopped: the next one goes on from there. */
  private resume: string | undefined;

  constructor(
    private readonly filters: LogFilters,
    private readonly store: LogStore,
    private readonly db: string,
    private readonly limits: PageLimits,
    private readonly done: () => void,
    private readonly onPollError: (err: unknown) => void,
  ) {}

  async run(): Promise<void> {
    while (this.subscribers.size > 0) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (this.subscribers.size === 0) break;
      // A poll that stopped at PAGES_PER_POLL goes on from there: starting over from the
      // lateness window would read the same seen lines again and never pass a burst of more
      // lines than one poll reads (it did: 40 k lines within 5 s stopped the tail for good).
      let cursor = this.resume;
      const from = cursor ? Math.min(this.newest - LATE_MS, cursorMs(cursor) - 1000) : this.newest - LATE_MS;
      this.resume = undefined;
      try {
        for (let pages = 0; this.subscribers.size > 0; pages++) {
          if (pages === PAGES_PER_POLL) {
            this.resume = cursor;
            break;
          }
          const page = await readPage(this.store, buildPageQuery(this.db, LOGS_TABLE, { ...this.filters, since: new Date(from).toISOString(), limit: PAGE_LINES, order: 'oldest', cursor }, { ...this.limits, maxResultBytes: Math.min(this.limits.maxResultBytes, PAGE_BYTES) }));
          for (const r of page.rows) this.deliver(r);
          await this.pace();
          if (!page.next) break;
          cursor = page.next;
        }
      } catch (err) {
        // Engine internals stay in our log; the client learns that reading failed and that we retry.
        this.onPollError(err);
        for (const s of this.subscribers) s.write(`event: error\ndata: ${JSON.stringify({ message: 'reading the store failed; retrying' })}\n\n`);
        continue;
      }
      if (!this.resume) for (const [k, t] of this.sent) if (t < from - 1000) this.sent.delete(k);
      if (Date.now() - this.lastBeat > KEEPALIVE_MS) {
        for (const s of this.subscribers) s.write(': keep-alive\n\n');
        this.lastBeat = Date.now();
      }
    }
    this.done();
  }

  /** Waits for the subscribers to read what they were sent; ends those that do not in time. */
  private async pace(): Promise<void> {
    const behind = [...this.subscribers].filter((s) => s.congested);
    if (!behind.length) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(behind.map((s) => s.drained())), new Promise((r) => (timer = setTimeout(r, DRAIN_GRACE_MS)))]);
    clearTimeout(timer);
    for (const s of behind) if (s.congested) s.end('slow_reader');
  }

  private deliver(r: LineRow): void {
    // A long line whose last part is not stored yet: the next poll reads it again, whole.
    if (r.attributes['log.split'] === 'true') return;
    const k = encodeCursor(positionOf(r));
    if (this.sent.has(k)) return;
    const t = Date.parse(r.timestamp);
    this.sent.set(k, t);
    if (t > this.newest) this.newest = t;
    for (const s of this.subscribers) s.offer(r, t);
  }
}

export class TailHub {
  private readonly groups = new Map<string, TailGroup>();
  private clients = 0;
  private closed = false;

  constructor(
    private readonly store: LogStore,
    private readonly db: string,
    private readonly limits: PageLimits,
    readonly opts: TailOptions,
  ) {}

  get size(): number {
    return this.clients;
  }

  /** Whether one more stream may open; a refusal is reported to onRefused. */
  admit(): boolean {
    if (!this.closed && this.clients < this.opts.maxClients) return true;
    this.opts.onRefused?.();
    return false;
  }

  /** Adds a subscriber to the group of these filters (started if new); it holds lines until its start(). */
  subscribe(filters: LogFilters, res: ServerResponse): Subscriber {
    const key = JSON.stringify(Object.entries(filters).filter(([, v]) => v !== undefined && v !== '').sort(([a], [b]) => a.localeCompare(b)));
    let group = this.groups.get(key);
    if (!group) {
      group = new TailGroup(
        filters,
        this.store,
        this.db,
        this.limits,
        () => {
          if (this.groups.get(key) === group) this.groups.delete(key);
        },
        (err) => this.opts.onPollError?.(err),
      );
      this.groups.set(key, group);
      const g = group;
      queueMicrotask(() => void g.run());
    }
    const g = group;
    this.clients++;
    const sub = new Subscriber(res, this.opts.maxBufferedBytes, (s, reason) => {
      if (g.subscribers.delete(s)) this.clients--;
      this.opts.onEnd?.(reason);
    });
    g.subscribers.add(sub);
    return sub;
  }

  /** Ends every stream (server shutdown); new subscriptions are refused from now on. */
  close(): void {
    this.closed = true;
    for (const g of this.groups.values()) for (const s of [...g.subscribers]) s.end('shutdown');
  }
}
