/**
 * Follows one container's log the way Docker's json-file driver writes it: the current file
 * <name> and the rotated ones <name>.1 (newest) … <name>.N (oldest), each perhaps compressed
 * (<name>.K.gz, `compress=true`). Bytes are handed on in order with where they came from, and
 * files are followed by identity (device + inode), not by name:
 *   - appended bytes are read as they come (fs.watch wakes the reader; a slow poll, one timer
 *     shared by every file followed, is the fallback where watching is not possible);
 *   - rotation: the old file is read to its end through the descriptor still open, then every
 *     rotated file newer than it (more than one when Docker rotated again meanwhile), then the
 *     new current file from its start;
 *   - truncation (the file shorter than the position): reading starts over at 0, reported;
 *   - deletion (the container removed): the open file is read to its end, then the tail ends.
 * Where it starts: at a position whose file is the current one, there; whose file is a rotated
 * one, there and then the newer ones; with no position (or its file gone), at the oldest rotated
 * file. When it cannot tell which rotated files it has read (the one it read was compressed to
 * a new file, or deleted), it reads them all again, oldest first: the reader above skips what
 * its cursor says was shipped, so that costs reading, never a duplicate.
 */
import { closeSync, createReadStream, fstatSync, openSync, read, statSync, watch, type BigIntStats, type FSWatcher } from 'node:fs';
import { promisify } from 'node:util';
import { basename, dirname } from 'node:path';
import { createGunzip } from 'node:zlib';

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

/** Docker keeps as many rotated files as max-file says; looked at until the first missing number. */
const MAX_ROTATED = 1000;

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

interface Ident {
  dev: bigint | string;
  ino: bigint | string;
}
const identity = (s: Ident) => `${s.dev}:${s.ino}`;

const readAt = promisify(read);

interface Rotated {
  index: number;
  path: string;
  gz: boolean;
  id: string;
}

/** A file opened ahead of reading it (see pinNewer). */
interface Pinned extends Rotated {
  fd: number;
  st: BigIntStats;
}

function statOrNone(path: string): BigIntStats | undefined {
  try {
    return statSync(path, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function openOrNone(path: string): number | undefined {
  try {
    return openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

export class FileTail {
  private watcher: FSWatcher | undefined;
  private wake: (() => void) | undefined;
  private changed = false;
  private seq = -1;
  /** Files opened ahead of the one being read, oldest first (see pinNewer). */
  private readonly pinned: Pinned[] = [];
  /** Identity of the newest file opened. */
  private newest = '';
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
      this.newest = identity(st);
      let offset = 0;
      if (this.from && identity(this.from) === identity(st)) offset = this.from.offset;
      else await this.readBefore(this.from, identity(st));
      this.seq++;
      this.startWatching();
      while (!signal.aborted) {
        offset = await this.readToEnd(fd, st, offset);
        if (signal.aborted) break;
        if (this.opts.follow === false) return 'ended';
        this.pinNewer();
        const next = this.pinned.shift();
        if (next) {
          // A newer file exists, so Docker wrote the last of this one before renaming it:
          // what came in since the read above is its end.
          await this.readToEnd(fd, st, offset);
          closeQuietly(fd);
          fd = next.fd;
          st = next.st;
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
        const current = statOrNone(this.path) ?? (await this.statSettled());
        if (!current) {
          // Removed with its container: what was written before is still readable through the descriptor.
          await this.readToEnd(fd, st, offset);
          return 'deleted';
        }
        if (current.size > BigInt(offset) && identity(current) === identity(st)) continue;
        // Told to finish (its container stopped): everything opened is read, and the file is at its end.
        if (this.draining && identity(current) === identity(st)) return 'ended';
        // (Rotated, and the new file not opened yet: wait for the next change, not in a loop.)
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
      this.watcher?.close();
      if (fd !== undefined) closeQuietly(fd);
      for (const p of this.pinned.splice(0)) closeQuietly(p.fd);
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

  /**
   * Opens every file that came after the newest one opened so far (the current file and the
   * rotated ones between), so that Docker deleting them (max-file) cannot take their lines: an
   * open descriptor keeps a deleted file readable. Synchronous (a few system calls), and asked
   * for after every chunk read and whenever the folder watch reports a rename: Docker may rotate
   * a busy log tens of times a second.
   */
  private pinNewer(): void {
    if (this.closed || this.opts.signal.aborted || this.newest === '') return;
    try {
      const now = statOrNone(this.path);
      if (!now || identity(now) === this.newest) return;
      const next = this.pinAfter(this.newest);
      if (!next) return;
      this.pinned.push(...next);
      this.newest = (next[next.length - 1] as Pinned).id;
    } catch (err) {
      // (Called from the folder watch too: never thrown from there.) The next look tries again.
      this.opts.onEvent?.('reread-rotated', `${this.path}: the newer files could not be opened yet: ${(err as Error).message}`);
    }
  }

  /**
   * The files after `oldId`, opened, oldest first, the current one last; undefined when the
   * current file is not there (between a rotation's rename and create). The listing is taken
   * again after opening: if Docker rotated meanwhile, it starts over (a few times at most).
   * When `oldId` is no longer among the rotated files (compressed into a new file, or rotated
   * away past max-file), which are newer is unknown: all are taken, and that is reported.
   */
  private pinAfter(oldId: string): Pinned[] | undefined {
    for (let attempt = 0; ; attempt++) {
      const cur = openOrNone(this.path);
      if (cur === undefined) return undefined;
      const curSt = fstatSync(cur, { bigint: true });
      const chainOf = (list: Rotated[]) => {
        const k = list.findIndex((r) => r.id === oldId);
        return { found: k >= 0, files: (k < 0 ? list : list.slice(0, k)).filter((r) => r.id !== identity(curSt)).reverse() };
      };
      const rotated = this.listRotated();
      const chain = chainOf(rotated);
      const out: Pinned[] = [];
      for (const r of chain.files) {
        const fd = openOrNone(r.path);
        if (fd === undefined) continue;
        const st = fstatSync(fd, { bigint: true });
        out.push({ ...r, fd, id: identity(st), st });
      }
      const again = chainOf(this.listRotated());
      const nowCur = statOrNone(this.path);
      const steady = nowCur !== undefined && identity(nowCur) === identity(curSt) && again.files.length === out.length && again.files.every((r, i) => out[i]?.id === r.id);
      if (steady || attempt >= 4) {
        if (!chain.found) {
          const gz = rotated.some((r) => r.gz);
          this.opts.onEvent?.(
            gz ? 'reread-rotated' : 'rotations-overrun',
            gz
              ? `${this.path}: the file opened last was compressed before its successor was opened; reading every rotated file again (what was shipped is skipped)`
              : `${this.path}: Docker rotated the file opened last away (max-file) before its successor was opened; lines of files rotated in between may be lost; reading the rotated files that are left`,
          );
        }
        out.push({ index: 0, path: this.path, gz: false, id: identity(curSt), fd: cur, st: curSt });
        return out;
      }
      closeQuietly(cur);
      for (const p of out) closeQuietly(p.fd);
    }
  }

  /** Before the current file: from the position's rotated file on, or every rotated file. */
  private async readBefore(from: FilePosition | undefined, currentId: string): Promise<void> {
    const rotated = this.listRotated().filter((r) => r.id !== currentId);
    const found = from ? rotated.find((r) => r.id === identity(from)) : undefined;
    if (from && !found) this.opts.onEvent?.('position-lost', `${this.path}: the file of the position is gone; reading every file of the log from its start`);
    if (found) this.opts.onEvent?.('resumed-rotated', `${found.path} from byte ${from?.offset}`);
    for (const r of rotated.reverse()) {
      if (found && r.index > found.index) continue;
      await this.readWhole(r, found && r === found ? (from?.offset ?? 0) : 0);
    }
  }

  /** The rotated files there now, newest (.1) first. */
  private listRotated(): Rotated[] {
    const out: Rotated[] = [];
    for (let index = 1; index <= MAX_ROTATED; index++) {
      let r: Rotated | undefined;
      for (const gz of [false, true]) {
        const path = `${this.path}.${index}${gz ? '.gz' : ''}`;
        const s = statOrNone(path);
        if (s) {
          r = { index, path, gz, id: identity(s) };
          break;
        }
      }
      if (!r) break;
      out.push(r);
    }
    return out;
  }

  /** A rotated file from `from` (uncompressed bytes) to its end; gone meanwhile is not an error (reported). */
  private async readWhole(r: Rotated, from: number): Promise<void> {
    this.seq++;
    const fd = openOrNone(r.path);
    if (fd === undefined) {
      // Rotated on, or compressed, since it was listed.
      this.opts.onEvent?.('reread-rotated', `${r.path} went away before it was read`);
      return;
    }
    try {
      if (r.gz) await this.readGz(fd, r, from);
      else await this.readToEnd(fd, fstatSync(fd, { bigint: true }), from);
    } finally {
      closeQuietly(fd);
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
      const s = statOrNone(this.path);
      if (s) return s;
      if (attempt === 4 || this.opts.signal.aborted) return undefined;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Reads from offset to the file's end as it is now; returns the new offset. */
  private async readToEnd(fd: number, st: Ident, offset: number): Promise<number> {
    const dev = String(st.dev);
    const ino = String(st.ino);
    while (!this.opts.signal.aborted) {
      const buf = this.buf;
      const { bytesRead } = await readAt(fd, buf, 0, buf.length, offset);
      if (bytesRead === 0) return offset;
      // Full: a busy file; read it in bigger pieces from now on.
      if (bytesRead === buf.length && buf.length < CHUNK) this.buf = Buffer.allocUnsafe(buf.length * 4);
      const start = offset;
      offset += bytesRead;
      await this.onChunk(Buffer.from(buf.subarray(0, bytesRead)), { dev, ino, offset, start, seq: this.seq });
      this.pinNewer();
    }
    return offset;
  }

  /**
   * Watches the file's folder, not the file: a watch on the file follows its inode, which after
   * a rotation is the old file, so the new one's first writes would wait for the poll.
   */
  private startWatching(): void {
    if (this.opts.follow === false) return;
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (event, file) => {
        if (file !== null && file !== undefined && !String(file).startsWith(name)) return;
        this.signalChange();
        // A rotation renames: the new file is opened at once, even while reading waits for room.
        if (event === 'rename') this.pinNewer();
      });
      this.watcher.on('error', () => undefined);
    } catch {
      // Not watchable here (some network or overlay file systems): the poll alone.
      this.watcher = undefined;
    }
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
