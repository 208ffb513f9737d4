/**
 * Turns the log entries of one stream (stdout or stderr of one container) back into the lines
 * the program wrote: Docker's 16 KiB pieces are joined, the trailing newline is removed, and
 * every line carries the stream's cursor after it.
 *
 * The cursor is (ts, n): the Docker timestamp of the last entry consumed and how many entries
 * with exactly that timestamp were consumed. Docker's `since` keeps entries with ts >= since,
 * and within one stream timestamps never decrease, so resuming from (ts, n) means asking for
 * since=ts and skipping the first n entries carrying ts. That is exact: no gap, no duplicate.
 * The same rule drops entries Docker sends twice (a stream that jumps back in time); the
 * price is that a wall clock stepped backwards on the host would hide lines until it caught
 * up, which the skip counter makes visible.
 */
import type { Cursor } from '../../lib/records.js';
import type { FilePosition } from '../files/tail-file.js';
import { DOCKER_PARTIAL_SIZE, type LogEntry, type StreamId } from './decode-frames.js';

/** The stream's position (lib/records.ts): `b` when a split part ended inside its last entry. */
export type { Cursor };

export interface Line {
  stream: StreamId;
  /** Timestamp of the line's first piece. */
  ts: string;
  /**
   * The line's bytes without its trailing newline. For a line that came in one entry this is a
   * view into the socket's buffer, valid only during the sink call: whoever keeps a line past
   * that (the multiline merger) copies it.
   */
  msg: Buffer;
  /** The stream's cursor once this line is shipped. */
  cursor: Cursor;
  /** This is one part of a line longer than the line limit; more parts follow. */
  split: boolean;
  /** This part continues the previous part of the same line (the query API joins them). */
  cont?: boolean;
  /** File mode: where reading may resume once this line is shipped (ContainerCheckpoint.file). */
  pos?: FilePosition;
  /** msg as the inside of a JSON string, when the reader had it (LogEntry.json): the shipper copies it instead of escaping msg. */
  json?: Buffer;
}

export type LineSink = (line: Line) => void;

export class LineAssembler {
  private pieces: Buffer[] = [];
  private size = 0;
  private firstTs = '';
  private curTs = '';
  private curN = 0;
  private skipTs: string | undefined;
  private skipN = 0;
  /** Bytes of the last entry to skip that were shipped already (Cursor.b). */
  private skipBytes = 0;
  /** Entries skipped because they were shipped before (resume, or a replay by Docker). */
  skipped = 0;
  /** Times Docker's stream went back in time and was skipped forward, and entries so skipped. */
  replays = 0;
  replaySkipped = 0;
  private replaying = false;
  /** The last entry was a piece of a line not finished yet (its next piece has the same timestamp). */
  private midLine = false;
  /** The last entry's bytes (a reference, not a copy: chunks are never reused). */
  private lastContent: Buffer | undefined;
  /** The last line handed on was a split part: the next one continues it. */
  private afterSplit = false;

  constructor(
    readonly stream: StreamId,
    private readonly maxLineBytes: number,
    /** TTY streams end lines in "\r\n" (the terminal's ONLCR); the "\r" is not the program's. */
    private readonly tty: boolean,
    resumeFrom?: Cursor,
    /**
     * Podman: its log keeps each write() of the program as a piece (conmon's partial entries),
     * so a short piece without newline is the start of a line, not a whole one; an unterminated
     * end of output still comes out at the stream's end (flush).
     */
    private readonly shortPiecesArePartial = false,
  ) {
    if (resumeFrom) {
      this.skipTs = resumeFrom.ts;
      this.skipN = resumeFrom.n;
      this.skipBytes = resumeFrom.b ?? 0;
      this.curTs = resumeFrom.ts;
      this.curN = resumeFrom.n;
    }
  }

  get cursor(): Cursor | undefined {
    return this.curTs === '' ? undefined : { ts: this.curTs, n: this.curN };
  }

  /** Bytes held for an unfinished line. */
  get pendingBytes(): number {
    return this.size;
  }

  push(entry: LogEntry, sink: LineSink): void {
    if (
      this.skipTs === undefined &&
      this.curTs !== '' &&
      (entry.ts < this.curTs || (entry.ts === this.curTs && !this.midLine && this.lastContent !== undefined && entry.content.equals(this.lastContent)))
    ) {
      // Time went backwards inside one stream, or the last entry came again: Docker
      // (json-file, seen with 20.10) sends part of a rotated file again while following.
      // Skip the replay exactly as on resume. (Two different lines may share a timestamp on
      // a coarse clock, so an equal timestamp alone is not a replay.)
      this.skipTs = this.curTs;
      this.skipN = this.curN;
      this.replaying = true;
      this.replays++;
    }
    /** Bytes at the start of this entry that were shipped before (resuming inside a split line). */
    let shipped = 0;
    if (this.skipTs !== undefined) {
      // Resuming (or replayed by Docker): drop what was shipped already.
      if (entry.ts < this.skipTs || (entry.ts === this.skipTs && this.skipN > 0)) {
        if (entry.ts === this.skipTs) this.skipN--;
        const lastOfSplitPart = entry.ts === this.skipTs && this.skipN === 0 && this.skipBytes > 0;
        // The cursor is a split part's: what comes next continues that line.
        if (lastOfSplitPart) this.afterSplit = true;
        if (lastOfSplitPart && this.skipBytes < entry.content.length) {
          // Its first bytes were shipped as the end of the part: the rest goes on.
          shipped = this.skipBytes;
        } else {
          this.skipped++;
          if (this.replaying) this.replaySkipped++;
          return;
        }
      }
      this.skipTs = undefined;
      this.skipBytes = 0;
      this.replaying = false;
    }
    // A partly shipped entry is counted in the cursor already.
    if (shipped === 0) {
      if (entry.ts === this.curTs) this.curN++;
      else {
        this.curTs = entry.ts;
        this.curN = 1;
      }
    }

    const whole = entry.content;
    const hasNl = whole.length > 0 && whole[whole.length - 1] === 0x0a;
    // Docker cuts long lines into pieces of exactly DOCKER_PARTIAL_SIZE bytes; a shorter piece
    // without newline is the last one (the `local` driver drops the last piece's newline) or
    // the unterminated end of the output.
    const complete = hasNl || (!this.shortPiecesArePartial && whole.length < DOCKER_PARTIAL_SIZE);
    const c = shipped ? whole.subarray(shipped) : whole;
    this.midLine = !complete;
    this.lastContent = whole;
    if (this.pieces.length === 0) this.firstTs = entry.ts;
    if (complete && this.pieces.length === 0) {
      // Common case: a whole line in one entry, handed on without a copy.
      const eol = hasNl ? this.eolLength(c) : 0;
      const line = this.line(c.subarray(0, c.length - eol), false);
      if (entry.json && !shipped) line.json = eol === 2 ? withoutCr(entry.json) : entry.json;
      sink(line);
      return;
    }
    // Pieces are copied: the decoder's buffers are reused.
    this.pieces.push(Buffer.from(c));
    this.size += c.length;
    if (complete) {
      const joined = Buffer.concat(this.pieces, this.size);
      this.reset();
      sink(this.line(joined.subarray(0, joined.length - (hasNl ? this.eolLength(joined) : 0)), false));
    } else if (this.size >= this.maxLineBytes) {
      // Longer than the limit: ship what we have as one part; the rest follows as more parts.
      // The part ends at a character boundary: the bytes of a character Docker's piece cut in
      // two open the next part (the cursor says how much of this entry was shipped).
      const joined = Buffer.concat(this.pieces, this.size);
      let keep = Math.min(incompleteUtf8Tail(joined), c.length);
      // The cursor must name at least one shipped byte of this entry.
      if (shipped + c.length - keep < 1) keep = 0;
      this.reset();
      const part = this.line(keep ? joined.subarray(0, joined.length - keep) : joined, true);
      // Resuming from a part's cursor knows it is inside a line, and where in this entry.
      part.cursor.b = shipped + c.length - keep;
      if (keep) {
        this.pieces = [Buffer.from(joined.subarray(joined.length - keep))];
        this.size = keep;
        this.firstTs = entry.ts;
      }
      sink(part);
    }
  }

  /** End of stream: an unterminated line is still a line. */
  flush(sink: LineSink): void {
    if (this.pieces.length === 0) return;
    const joined = Buffer.concat(this.pieces, this.size);
    this.reset();
    sink(this.line(joined, false));
  }

  private line(msg: Buffer, split: boolean): Line {
    const line: Line = { stream: this.stream, ts: this.firstTs, msg, cursor: { ts: this.curTs, n: this.curN }, split };
    if (this.afterSplit) line.cont = true;
    this.afterSplit = split;
    return line;
  }

  private eolLength(b: Buffer): number {
    if (this.tty && b.length >= 2 && b[b.length - 2] === 0x0d) return 2;
    return 1;
  }

  private reset(): void {
    this.pieces = [];
    this.size = 0;
  }
}

/** How many bytes at the end of b are the start of a UTF-8 character whose rest is missing (0-3). */
export function incompleteUtf8Tail(b: Buffer): number {
  for (let back = 1; back <= Math.min(4, b.length); back++) {
    const byte = b[b.length - back] as number;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const need = byte >= 0xf8 ? 0 : byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 0;
    return need > back ? back : 0;
  }
  return 0;
}

/** A TTY line's JSON text without the escape of its "\r" (undefined: it does not end in one). */
function withoutCr(json: Buffer): Buffer | undefined {
  const n = json.length;
  return n >= 2 && json[n - 2] === 0x5c && json[n - 1] === 0x72 && !escapedBackslashAt(json, n - 2) ? json.subarray(0, n - 2) : undefined;
}

/** The backslash at `i` is itself escaped (an odd run of backslashes before it). */
function escapedBackslashAt(json: Buffer, i: number): boolean {
  let k = i - 1;
  while (k >= 0 && json[k] === 0x5c) k--;
  return (i - 1 - k) % 2 === 1;
}
