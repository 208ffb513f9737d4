/**
 * Follows one container's log the way Docker's json-file driver writes it: the current file
 * <name> and the rotated ones <name>.1 (newest) … <name>.N (oldest), each perhaps compressed
 * (<name>.K.gz, `compress=true`). Bytes are handed on in order with where they came from, and
 * files are followed by identity (device + inode), not by name:
 *   - appended bytes are read as they come (the pin thread's folder watch wakes the reader; a
 *     slow poll, one timer shared by every file followed, is the fallback);
 *   - rotation: the old file is read to its end through the descriptor still open, then every
 *     rotated file newer than it (more than one when Docker rotated again meanwhile), then the
 *     new current file from its start. The pin thread (pin-thread.ts) opens those files as
 *     they appear, so that Docker deleting them (max-file) cannot take their lines;
 *   - truncation (the file shorter than the position): reading starts over at 0, reported;
 *   - deletion (the container removed): the open file is read to its end, then the tail ends.
 * Where it starts: at a position whose file is the current one, there; whose file is a rotated
 * one, there and then the newer ones; with no position (or its file gone), at the oldest rotated
 * file. When it cannot tell which rotated files it has read (the one it read was compressed to
 * a new file, or deleted), it reads them all again, oldest first: the reader above skips what
 * its cursor says was shipped, so that costs reading, never a duplicate.
 */
import * as fs from 'node:fs';
import { createReadStream, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { pinThread } from './pin-thread.js';
import { closeQuietly, identity, listRotated, openOrNone, statOrNone, type Ident, type Pinned, type Rotated } from './rotated-files.js';

/** Device and inode as decimal strings: inode numbers can pass 2^53 (XFS), so no JS number holds them. */
export interface FilePosition {
  dev: string;
  ino: string;
  /** Bytes of that file already handed on. */
  offset: number;
}

/** Where a chunk came from. `offset` is the position after it (in a compressed file, in its uncompressed bytes). */
export interface ChunkAt extends FilePosition {
  /** Where the chunk starts in that file. */
  start: number;
  /** Which file of this tail's reading it is: 0, 1, … in the order read. */
  seq: number;
}

/** deleted: the file was removed and read to its end; ended: not following, read to the end. */
export type TailEnd = 'deleted' | 'aborted' | 'ended';

export type TailEvent = 'rotated' | 'truncated' | 'resumed-rotated' | 'position-lost' | 'reread-rotated' | 'rotations-overrun';

export interface TailOptions {
  /** How often the file is looked at when no change was signalled (one timer shared by all tails of this period). */
  pollMs: number;
  signal: AbortSignal;
  /** Told of what happened to the file (rotation, truncation), for the log and the metrics. */
  onEvent?: (what: TailEvent, detail: string) => void;
  /** Keep following after the end (default true); false reads to the end of the current file and ends. */
  follow?: boolean;
}

const CHUNK = 256 * 1024;

/** A caught-up file is read at most this often (see waitForChange). */
const READ_BEAT_MS = 250;

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

export class FileTail {
  /** This tail's follow in the pin thread. */
  private pinKey: number | undefined;
  private wake: (() => void) | undefined;
  private changed = false;
  private seq = -1;
  /**
   * Files opened ahead of the one being read, oldest first (by the pin thread). `afterGap`: the
   * first file opened after Docker had deleted the one opened before it (a rotations-overrun).
   */
  private readonly pinned: (Pinned & { afterGap?: boolean })[] = [];
  private closed = false;
  private draining = false;
  /**
   * The read buffer, kept: 16 KiB while the file is written slowly (a quiet container's few
   * lines), grown to CHUNK once a read fills it. A new 256 KiB buffer per read was most of the
   * agent's garbage at 100 quiet containers.
   */
  private buf = Buffer.allocUnsafe(16 * 1024);

  constructor(
    private readonly path: string,
    private readonly from: FilePosition | undefined,
    /** Gets each chunk read and where it came from; the next read waits for it to settle. */
    private readonly onChunk: (bytes: Buffer, at: ChunkAt) => void | Promise<void>,
    private readonly opts: TailOptions,
  ) {}

  async run(): Promise<TailEnd> {
    const { signal } = this.opts;
    let fd: number | undefined;
    try {
      // The current file is opened first: a rotation while the older ones are read cannot take it away.
      fd = openSync(this.path, 'r');
      let st: Ident & { size: bigint } = fstatSync(fd, { bigint: true });
      // From here on every newer file is opened as it appears, while the older ones are read too.
      if (this.opts.follow !== false) this.pinKey = pinThread.follow(this.path, identity(st), fd, this.pins);
      let offset = 0;
      if (this.from && identity(this.from) === identity(st)) offset = this.from.offset;
      else await this.readBefore(this.from, identity(st));
      this.seq++;
      while (!signal.aborted) {
        offset = await this.readToEnd(fd, st, offset);
        if (signal.aborted) break;
        if (this.opts.follow === false) return 'ended';
        const next = this.pinned.shift();
        if (next) {
          // A newer file exists, so Docker wrote the last of this one before renaming it:
          // what came in since the read above is its end.
          await this.readToEnd(fd, st, offset);
          if (next.afterGap) {
            // Told between the last chunk before the gap and the first after it: the reader can say which lines it lies between.
            this.opts.onEvent?.(
              'rotations-overrun',
              `${this.path}: Docker deleted files rotated after the one read last (max-file) before they could be opened; reading goes on at ${next.path} (inode ${next.id.split(':')[1]})`,
            );
          }
          closeQuietly(fs, fd);
          fd = next.fd;
          st = fstatSync(fd, { bigint: true });
          this.seq++;
          offset = 0;
          this.opts.onEvent?.('rotated', `${this.path}: on to ${next.path} (inode ${st.ino})`);
          if (next.gz) {
            // Compressed before it was read: read whole; a newer file was opened with it, the loop goes on to that one.
            await this.readGz(next.fd, next, 0);
            offset = Number(st.size);
          }
          continue;
        }
        const current = statOrNone(fs, this.path) ?? (await this.statSettled());
        // (Opened while the path was looked at.)
        if (this.pinned.length > 0) continue;
        if (!current) {
          // Removed with its container: what was written before is still readable through the descriptor.
          await this.readToEnd(fd, st, offset);
          return 'deleted';
        }
        if (current.size > BigInt(offset) && identity(current) === identity(st)) continue;
        // Told to finish (its container stopped): everything opened is read, and the file is at its end.
        if (this.draining && identity(current) === identity(st)) return 'ended';
        // Rotated, and the new file not opened yet (the pin thread will; told to look now where
        // the folder is not watched): wait for the next change, not in a loop.
        if (identity(current) !== identity(st) && this.pinKey !== undefined) pinThread.check(this.pinKey);
        await this.waitForChange();
        if (signal.aborted) break;
        const now = fstatSync(fd, { bigint: true });
        if (now.size < BigInt(offset)) {
          this.opts.onEvent?.('truncated', `${this.path} is ${now.size} bytes, was read to ${offset}`);
          offset = 0;
          this.seq++;
        }
      }
      return 'aborted';
    } finally {
      this.closed = true;
      if (this.pinKey !== undefined) pinThread.unfollow(this.pinKey);
      if (fd !== undefined) closeQuietly(fs, fd);
      for (const p of this.pinned.splice(0)) closeQuietly(fs, p.fd);
    }
  }

  /**
   * Stop following once everything written so far is read: the files opened ahead of reading
   * (perhaps deleted by Docker since) are read first. Aborting instead would lose those.
   */
  finish(): void {
    this.draining = true;
    this.signalChange();
  }

  /** What the pin thread tells this tail. */
  private readonly pins = {
    pinned: (files: Pinned[], lost: 'compressed' | 'overrun' | undefined) => {
      if (this.closed) {
        for (const p of files) closeQuietly(fs, p.fd);
        return;
      }
      if (lost === 'compressed') {
        this.opts.onEvent?.('reread-rotated', `${this.path}: the file opened last was compressed before its successor was opened; reading every rotated file again (what was shipped is skipped)`);
      }
      this.pinned.push(...(lost === 'overrun' && files[0] ? [{ ...files[0], afterGap: true }, ...files.slice(1)] : files));
      this.signalChange();
    },
    changed: () => this.signalChange(),
    failed: (message: string) => this.opts.onEvent?.('reread-rotated', `${this.path}: the newer files could not be opened yet: ${message}`),
  };

  /**
   * Before the current file: from the position's rotated file on, or every rotated file. They
   * are all opened first, each checked to be the file listed: read one by one by name, a file
   * renamed meanwhile (Docker rotated while an older one was read) would be a different one, and
   * the one listed lost.
   */
  private async readBefore(from: FilePosition | undefined, currentId: string): Promise<void> {
    const opened = this.openRotated(currentId);
    try {
      const found = from ? opened.find((r) => r.id === identity(from)) : undefined;
      if (from && !found) this.opts.onEvent?.('position-lost', `${this.path}: the file of the position is gone; reading every file of the log from its start`);
      if (found) this.opts.onEvent?.('resumed-rotated', `${found.path} from byte ${from?.offset}`);
      for (const r of opened) {
        if (found && r.index > found.index) continue;
        const at = found && r === found ? (from?.offset ?? 0) : 0;
        this.seq++;
        if (r.gz) await this.readGz(r.fd, r, at);
        else await this.readToEnd(r.fd, fstatSync(r.fd, { bigint: true }), at);
      }
    } finally {
      for (const r of opened) closeQuietly(fs, r.fd);
    }
  }

  /** The rotated files older than the current one, opened, oldest first (listed again if Docker rotated while they were opened). */
  private openRotated(currentId: string): Pinned[] {
    for (let attempt = 0; ; attempt++) {
      const out: Pinned[] = [];
      let moved = false;
      for (const r of listRotated(fs, this.path)) {
        if (r.id === currentId) continue;
        const fd = openOrNone(fs, r.path);
        if (fd === undefined) {
          moved = true;
          continue;
        }
        const id = identity(fstatSync(fd, { bigint: true }));
        if (id === r.id) out.push({ ...r, fd });
        else {
          moved = true;
          closeQuietly(fs, fd);
        }
      }
      if (!moved || attempt >= 4) {
        if (moved) this.opts.onEvent?.('reread-rotated', `${this.path}: the rotated files kept moving while they were opened; reading those opened`);
        return out.reverse();
      }
      for (const r of out) closeQuietly(fs, r.fd);
    }
  }

  /** A compressed rotated file, open as `fd` (left open), from `from` (uncompressed bytes) to its end. */
  private async readGz(fd: number, r: Rotated, from: number): Promise<void> {
    const [dev, ino] = r.id.split(':') as [string, string];
    let offset = 0;
    const input = createReadStream('', { fd, autoClose: false, start: 0 });
    const stream = input.pipe(createGunzip());
    // pipe() does not pass the input's errors on: without this the read would wait for ever.
    input.on('error', (err: Error) => stream.destroy(err));
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (this.opts.signal.aborted) break;
        const start = offset;
        offset += chunk.length;
        if (offset <= from) continue;
        const part = start < from ? chunk.subarray(from - start) : chunk;
        await this.onChunk(part, { dev, ino, offset, start: offset - part.length, seq: this.seq });
      }
    } catch (err) {
      this.opts.onEvent?.('reread-rotated', `${r.path} could not be read to its end: ${(err as Error).message}`);
    } finally {
      stream.destroy();
    }
  }

  /**
   * The file now at the path; undefined when none is there for a while (a rotation renames the
   * old file before it creates the new one: a moment without either is not a deletion).
   */
  private async statSettled(): Promise<BigIntStats | undefined> {
    for (let attempt = 0; ; attempt++) {
      const s = statOrNone(fs, this.path);
      if (s) return s;
      if (attempt === 4 || this.opts.signal.aborted) return undefined;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Reads from offset to the file's end as it is now; returns the new offset. Reads are
   * synchronous: what Docker just wrote is in the page cache, so a read is a copy of a few
   * microseconds (a chunk of a backlog: a fraction of a millisecond), where an asynchronous one
   * cost a round trip through libuv's thread pool (23 µs of the main thread per read: 30 % of the
   * agent's main thread at 100 quiet containers). A read shorter than asked is the file's end:
   * the next change is waited for without reading again.
   */
  private async readToEnd(fd: number, st: Ident, offset: number): Promise<number> {
    const dev = String(st.dev);
    const ino = String(st.ino);
    while (!this.opts.signal.aborted) {
      const buf = this.buf;
      const bytesRead = readSync(fd, buf, 0, buf.length, offset);
      if (bytesRead === 0) return offset;
      // Full: a busy file; read it in bigger pieces from now on.
      if (bytesRead === buf.length && buf.length < CHUNK) this.buf = Buffer.allocUnsafe(buf.length * 4);
      const start = offset;
      offset += bytesRead;
      await this.onChunk(Buffer.from(buf.subarray(0, bytesRead)), { dev, ino, offset, start, seq: this.seq });
      if (bytesRead < buf.length) return offset;
    }
    return offset;
  }

  private signalChange(): void {
    this.changed = true;
    this.wake?.();
  }

  /**
   * Waits for the file to change, then for the next beat of a shared timer (READ_BEAT_MS): a
   * file written a line at a time is read a few lines at a time, not once per line (at 100
   * containers x 10 lines/s, reading each line as it came cost the agent 0.4 core). A file
   * being read behind its writer never waits here: reading goes on until its end.
   */
  private async waitForChange(): Promise<void> {
    await this.waitForTick(this.opts.pollMs, true);
    if (!this.opts.signal.aborted && !this.draining) await this.waitForTick(READ_BEAT_MS, false);
  }

  /** The next tick of the shared ticker of this period; `early`: or a change signalled before it. */
  private waitForTick(periodMs: number, early: boolean): Promise<void> {
    if (early && this.changed) {
      this.changed = false;
      return Promise.resolve();
    }
    const ticker = tickerOf(periodMs);
    return new Promise((resolve) => {
      const done = () => {
        ticker.remove(done);
        this.opts.signal.removeEventListener('abort', done);
        if (early) {
          this.wake = undefined;
          this.changed = false;
        }
        resolve();
      };
      ticker.add(done);
      if (early) this.wake = done;
      this.opts.signal.addEventListener('abort', done, { once: true });
    });
  }
}
