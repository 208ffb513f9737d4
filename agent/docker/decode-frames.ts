/**
 * Splits the byte stream of GET /containers/{id}/logs?timestamps=1 into log entries.
 *
 * Two wire formats:
 *  - multiplexed (container without TTY): 8-byte header [stream, 0, 0, 0, size u32 BE] then
 *    `size` bytes; one frame is one log entry "<RFC3339Nano> <content>".
 *  - raw (TTY container): entries back to back, "<RFC3339Nano> <content>\n". Docker cuts a line
 *    longer than 16 KiB into 16 KiB pieces with no newline, so a piece of exactly that size
 *    followed by a timestamp is a partial entry.
 *
 * An entry whose content does not end in "\n" is a partial piece of a longer line (Docker's
 * 16 KiB split), or the unterminated tail of a stream.
 */
import { DockerStreamError } from '../../lib/errors.js';

export const STDOUT = 1;
export const STDERR = 2;
export type StreamId = typeof STDOUT | typeof STDERR;

/** Size of the pieces Docker's log copier cuts long lines into. */
export const DOCKER_PARTIAL_SIZE = 16 * 1024;

export interface LogEntry {
  stream: StreamId;
  /** Docker's timestamp, as sent (RFC 3339 with nanoseconds). */
  ts: string;
  /** Content including its trailing "\n" when it has one. May share memory with the input chunk. */
  content: Buffer;
  /**
   * The content as the inside of a JSON string, without the escape of its trailing newline, when
   * the reader has it (file mode: Docker's own escaping): the shipper copies it.
   */
  json?: Buffer;
}

/** Called once per decoded entry; the content buffer is only valid during the call. */
export type EntrySink = (entry: LogEntry) => void;

const EMPTY = Buffer.alloc(0);
const SPACE = 0x20;
const NL = 0x0a;
/** "2006-01-02T15:04:05.999999999Z07:00" is 35 bytes at most; allow some slack. */
const MAX_TS_LEN = 40;

function splitTimestamp(buf: Buffer, start: number, end: number, stream: StreamId): LogEntry {
  const limit = Math.min(end, start + MAX_TS_LEN);
  let sp = start;
  while (sp < limit && buf[sp] !== SPACE) sp++;
  if (sp >= limit || sp === start) {
    throw new DockerStreamError(`log entry does not start with a timestamp: ${JSON.stringify(buf.toString('latin1', start, Math.min(end, start + 48)))}`);
  }
  return { stream, ts: buf.toString('latin1', start, sp), content: buf.subarray(sp + 1, end) };
}

/** Decoder for the multiplexed (non-TTY) format. */
export class MultiplexedDecoder {
  private header = Buffer.alloc(8);
  private headerFill = 0;
  private payload: Buffer = EMPTY;
  private payloadFill = 0;
  private stream: StreamId = STDOUT;
  private inPayload = false;

  push(chunk: Buffer, sink: EntrySink): void {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (!this.inPayload) {
        // Fast path: a whole frame inside this chunk needs no copy.
        if (this.headerFill === 0 && n - i >= 8) {
          const size = chunk.readUInt32BE(i + 4);
          const stream = this.streamOf(chunk[i] as number);
          if (n - i - 8 >= size) {
            if (stream !== 0) sink(splitTimestamp(chunk, i + 8, i + 8 + size, stream));
            i += 8 + size;
            continue;
          }
          chunk.copy(this.header, 0, i, i + 8);
          this.headerFill = 8;
          i += 8;
        } else {
          const take = Math.min(8 - this.headerFill, n - i);
          chunk.copy(this.header, this.headerFill, i, i + take);
          this.headerFill += take;
          i += take;
          if (this.headerFill < 8) return;
        }
        const size = this.header.readUInt32BE(4);
        this.stream = (this.streamOf(this.header[0] as number) || STDOUT) as StreamId;
        this.payload = Buffer.allocUnsafe(size);
        this.payloadFill = 0;
        this.inPayload = true;
        this.headerFill = 0;
        if (size === 0) this.finishPayload(sink);
        continue;
      }
      const take = Math.min(this.payload.length - this.payloadFill, n - i);
      chunk.copy(this.payload, this.payloadFill, i, i + take);
      this.payloadFill += take;
      i += take;
      if (this.payloadFill === this.payload.length) this.finishPayload(sink);
    }
  }

  /** True when the stream ended in the middle of a frame (bytes lost by the sender). */
  get truncated(): boolean {
    return this.headerFill > 0 || this.inPayload;
  }

  private finishPayload(sink: EntrySink): void {
    this.inPayload = false;
    const p = this.payload;
    this.payload = EMPTY;
    if (p.length > 0) sink(splitTimestamp(p, 0, p.length, this.stream));
  }

  private streamOf(b: number): StreamId | 0 {
    if (b === 1) return STDOUT;
    if (b === 2) return STDERR;
    if (b === 0) return 0; // stdin: never logged, skip
    throw new DockerStreamError(`bad stream byte ${b} in multiplexed log stream`);
  }
}

function looksLikeTimestamp(buf: Buffer, at: number): boolean {
  // "YYYY-MM-DDT..." : digits at 0..3, '-' at 4 and 7, 'T' at 10.
  const d = (k: number) => {
    const c = buf[at + k];
    return c !== undefined && c >= 0x30 && c <= 0x39;
  };
  return d(0) && d(1) && d(2) && d(3) && buf[at + 4] === 0x2d && buf[at + 7] === 0x2d && buf[at + 10] === 0x54;
}

/** Decoder for the raw (TTY) format. Everything is stdout. */
export class RawDecoder {
  private rest: Buffer = EMPTY;

  push(chunk: Buffer, sink: EntrySink): void {
    const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    let i = 0;
    const n = buf.length;
    while (i < n) {
      let sp = i;
      const tsLimit = Math.min(n, i + MAX_TS_LEN);
      while (sp < tsLimit && buf[sp] !== SPACE) sp++;
      if (sp >= tsLimit) {
        if (tsLimit - i < MAX_TS_LEN) break; // timestamp not complete yet
        throw new DockerStreamError(`TTY log entry does not start with a timestamp: ${JSON.stringify(buf.toString('latin1', i, i + 48))}`);
      }
      const cStart = sp + 1;
      const nl = buf.indexOf(NL, cStart);
      if (nl !== -1 && nl - cStart < DOCKER_PARTIAL_SIZE) {
        sink({ stream: STDOUT, ts: buf.toString('latin1', i, sp), content: buf.subarray(cStart, nl + 1) });
        i = nl + 1;
        continue;
      }
      // No newline within one Docker piece: it is a partial piece if a timestamp follows it.
      const pieceEnd = cStart + DOCKER_PARTIAL_SIZE;
      if (n < pieceEnd + 11) break; // need more bytes to decide
      if (looksLikeTimestamp(buf, pieceEnd)) {
        sink({ stream: STDOUT, ts: buf.toString('latin1', i, sp), content: buf.subarray(cStart, pieceEnd) });
        i = pieceEnd;
        continue;
      }
      // Not Docker's split: a longer entry; wait for its newline.
      if (nl === -1) break;
      sink({ stream: STDOUT, ts: buf.toString('latin1', i, sp), content: buf.subarray(cStart, nl + 1) });
      i = nl + 1;
    }
    // Keep the unfinished tail (copied: the chunk's memory is reused by the socket).
    this.rest = i < n ? Buffer.from(buf.subarray(i)) : EMPTY;
  }

  /** At end of stream an unterminated tail is a last entry without newline. */
  end(sink: EntrySink): void {
    if (this.rest.length === 0) return;
    const buf = this.rest;
    this.rest = EMPTY;
    let sp = 0;
    while (sp < buf.length && sp < MAX_TS_LEN && buf[sp] !== SPACE) sp++;
    if (sp >= buf.length || buf[sp] !== SPACE) return;
    sink({ stream: STDOUT, ts: buf.toString('latin1', 0, sp), content: buf.subarray(sp + 1) });
  }

  get pendingBytes(): number {
    return this.rest.length;
  }
}
