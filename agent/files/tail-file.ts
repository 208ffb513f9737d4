/**
 * Follows one log file the way Docker's json-file driver writes it (issue 16's file mode; not
 * yet wired into the agent): bytes are handed on in order with the position after them, and
 * the file is followed by its identity (device + inode), not its name:
 *   - appended bytes are read as they come (fs.watch wakes the reader; a slow poll, one timer
 *     shared by every file followed, is the fallback where watching is not possible);
 *   - rotation (the file renamed to <name>.1 and a new one created): the old file is read to its
 *     end through the descriptor still open, then the new one from its start;
 *   - truncation (the file shorter than the position): reading starts over at 0, reported;
 *   - deletion (the container removed): the open file is read to its end, then the tail ends.
 * A position from a checkpoint whose identity is not the current file's is looked for in the
 * rotated files (<name>.1 …) and read from there, then the newer ones, then the current file.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';

/** Device and inode as decimal strings: inode numbers can pass 2^53 (XFS), so no JS number holds them. */
export interface FilePosition {
  dev: string;
  ino: string;
  /** Bytes of that file already handed on. */
  offset: number;
}

export type TailEnd = 'deleted' | 'aborted';

export interface TailOptions {
  /** How often the file is looked at when no change was signalled (one timer shared by all tails of this period). */
  pollMs: number;
  signal: AbortSignal;
  /** Told of what happened to the file (rotation, truncation), for the log and the metrics. */
  onEvent?: (what: 'rotated' | 'truncated' | 'resumed-rotated' | 'position-lost', detail: string) => void;
  /** Rotated files kept by Docker's max-file, looked at when resuming (default 9). */
  maxRotated?: number;
}

const CHUNK = 256 * 1024;

/**
 * One timer for all the files followed, however many: every waiting tail is woken at each tick
 * of its period (hundreds of containers cost one timer per poll period, not hundreds). The timer
 * runs only while a tail waits, and never keeps the process alive.
 */
class Ticker {
  private readonly waiting = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly periodMs: number) {}

  add(wake: () => void): void {
    this.waiting.add(wake);
    this.timer ??= setInterval(() => {
      for (const w of [...this.waiting]) w();
    }, this.periodMs).unref();
  }

  remove(wake: () => void): void {
    this.waiting.delete(wake);
    if (this.waiting.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  get size(): number {
    return this.waiting.size;
  }
}

const tickers = new Map<number, Ticker>();

/** The shared ticker of this period (for tests: how many tails wait on it). */
export function tickerOf(periodMs: number): { readonly size: number } & Pick<Ticker, 'add' | 'remove'> {
  let t = tickers.get(periodMs);
  if (!t) {
    t = new Ticker(periodMs);
    tickers.set(periodMs, t);
  }
  return t;
}

interface Ident {
  dev: bigint | string;
  ino: bigint | string;
}
const identity = (s: Ident) => `${s.dev}:${s.ino}`;

export class FileTail {
  private watcher: FSWatcher | undefined;
  private wake: (() => void) | undefined;
  private changed = false;

  constructor(
    private readonly path: string,
    private readonly from: FilePosition | undefined,
    /** Gets each chunk read and the position after it; the next read waits for it to settle. */
    private readonly onChunk: (bytes: Buffer, after: FilePosition) => void | Promise<void>,
    private readonly opts: TailOptions,
  ) {}

  async run(): Promise<TailEnd> {
    const { signal } = this.opts;
    let fh: FileHandle | undefined;
    try {
      fh = await open(this.path, 'r');
      let st = await fh.stat({ bigint: true });
      let offset = 0;
      if (this.from) {
        if (identity(this.from) === identity(st)) offset = this.from.offset;
        else await this.resumeRotated(this.from);
      }
      this.startWatching();
      while (!signal.aborted) {
        offset = await this.readToEnd(fh, st, offset);
        if (signal.aborted) break;
        await this.waitForChange();
        if (signal.aborted) break;
        const now = await fh.stat({ bigint: true });
        if (now.size < BigInt(offset)) {
          this.opts.onEvent?.('truncated', `${this.path} is ${now.size} bytes, was read to ${offset}`);
          offset = 0;
        }
        st = now;
        const current = await this.statSettled();
        if (!current) {
          // Removed with its container: what was written before is still readable through the descriptor.
          await this.readToEnd(fh, st, offset);
          return 'deleted';
        }
        if (identity(current) !== identity(st)) {
          await this.readToEnd(fh, await fh.stat({ bigint: true }), offset);
          await fh.close();
          this.opts.onEvent?.('rotated', `${this.path}: a new file (inode ${current.ino})`);
          fh = await open(this.path, 'r');
          st = await fh.stat({ bigint: true });
          offset = 0;
          this.restartWatching();
        }
      }
      return 'aborted';
    } finally {
      this.watcher?.close();
      await fh?.close().catch(() => undefined);
    }
  }

  /**
   * The file now at the path; undefined when none is there for a while (a rotation renames the
   * old file before it creates the new one: a moment without either is not a deletion).
   */
  private async statSettled(): Promise<BigIntStats | undefined> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await stat(this.path, { bigint: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (attempt === 4 || this.opts.signal.aborted) return undefined;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Reads from offset to the file's end as it is now; returns the new offset. */
  private async readToEnd(fh: FileHandle, st: Ident, offset: number): Promise<number> {
    const buf = Buffer.allocUnsafe(CHUNK);
    while (!this.opts.signal.aborted) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, offset);
      if (bytesRead === 0) return offset;
      offset += bytesRead;
      await this.onChunk(Buffer.from(buf.subarray(0, bytesRead)), { dev: String(st.dev), ino: String(st.ino), offset });
    }
    return offset;
  }

  /** The checkpoint's file was rotated while we were away: read it (and newer rotated ones) from there. */
  private async resumeRotated(from: FilePosition): Promise<void> {
    const max = this.opts.maxRotated ?? 9;
    let found = -1;
    for (let i = 1; i <= max; i++) {
      try {
        const s = await stat(`${this.path}.${i}`, { bigint: true });
        if (identity(s) === identity(from)) {
          found = i;
          break;
        }
      } catch {
        break;
      }
    }
    if (found < 0) {
      this.opts.onEvent?.('position-lost', `${this.path}: the file of the checkpoint is gone; reading the current file from its start`);
      return;
    }
    this.opts.onEvent?.('resumed-rotated', `${this.path}.${found} from byte ${from.offset}`);
    for (let i = found; i >= 1; i--) {
      const fh = await open(`${this.path}.${i}`, 'r');
      try {
        await this.readToEnd(fh, await fh.stat({ bigint: true }), i === found ? from.offset : 0);
      } finally {
        await fh.close();
      }
    }
  }

  private startWatching(): void {
    try {
      this.watcher = watch(this.path, { persistent: false }, () => this.signalChange());
      this.watcher.on('error', () => undefined);
    } catch {
      // Not watchable here (some network or overlay file systems): the poll alone.
      this.watcher = undefined;
    }
  }

  private restartWatching(): void {
    this.watcher?.close();
    this.startWatching();
  }

  private signalChange(): void {
    this.changed = true;
    this.wake?.();
  }

  private waitForChange(): Promise<void> {
    if (this.changed) {
      this.changed = false;
      return Promise.resolve();
    }
    const ticker = tickerOf(this.opts.pollMs);
    return new Promise((resolve) => {
      const done = () => {
        ticker.remove(done);
        this.opts.signal.removeEventListener('abort', done);
        this.wake = undefined;
        this.changed = false;
        resolve();
      };
      ticker.add(done);
      this.wake = done;
      this.opts.signal.addEventListener('abort', done, { once: true });
    });
  }
}
