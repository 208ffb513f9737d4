/**
 * Docker's `json-file` log, read from the file itself (file mode's decoder). Each line of the
 * file is one entry:
 *   {"log":"text\n","stream":"stdout","time":"2026-11-25T10:00:00.12345Z"}
 * and becomes the same LogEntry the Engine API's stream gives (decode-frames.ts), so line
 * assembly, Docker's 16 KiB partials (a `log` without its trailing newline), multiline, cursors
 * and checkpoints are the API path's own. The time is written as the API writes it (UTC, nine
 * fraction digits), so a cursor means the same whichever way a container was read.
 * A line that does not parse is handed to onBad and skipped; the rest go on.
 */
import { STDERR, STDOUT, type EntrySink, type StreamId } from '../docker/decode-frames.js';
import { apiTimestamp, apiTimestampBytes } from '../docker/docker-time.js';
import { SHORT_ESCAPES } from '../../lib/json-escapes.js';

const NL = 0x0a;

interface Entry {
  log?: unknown;
  stream?: unknown;
  time?: unknown;
}

export class JsonFileDecoder {
  private rest: Buffer | undefined;
  private consumed: number;
  /** Entries taken without JSON.parse (Docker's own layout); the rest were parsed. */
  unparsed = 0;
  /** Set by decodeInto for the entry being read: where its last escape starts, and whether a `\\u` escape named a UTF-16 surrogate. */
  private lastEscape = -1;
  private surrogate = false;
  /** Where texts with escapes are unescaped to: new for each chunk, as entries are views into it. */
  private side: Buffer | undefined;
  private sideAt = 0;
  /** While an entry is handed on: the offset in the file where its line starts. */
  entryStart = 0;

  /** `base`: the offset in the file of the first byte pushed. */
  constructor(base = 0) {
    this.consumed = base;
  }

  /** Bytes of the file taken as whole lines so far: where a later read (or a checkpoint) resumes. */
  get offset(): number {
    return this.consumed;
  }

  /**
   * Decodes the whole lines in `chunk` (with what was left of the previous one); keeps an
   * unfinished last line. The chunk is the caller's to give away: entries are views into it, and
   * it is written to (a line's closing `\n` escape becomes its newline in place).
   */
  push(chunk: Buffer, sink: EntrySink, onBad: (line: string, why: string) => void): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    this.side = undefined;
    let start = 0;
    for (let nl = buf.indexOf(NL, start); nl >= 0; nl = buf.indexOf(NL, start)) {
      this.entryStart = this.consumed;
      if (nl > start && !this.fast(buf, start, nl, sink)) this.parse(buf.subarray(start, nl), sink, onBad);
      this.consumed += nl + 1 - start;
      start = nl + 1;
    }
    this.rest = start < buf.length ? Buffer.from(buf.subarray(start)) : undefined;
  }

  /** Bytes held of an unfinished last line (Docker writes whole lines; more means a torn write or truncation). */
  get pending(): number {
    return this.rest?.length ?? 0;
  }

  private parse(raw: Buffer, sink: EntrySink, onBad: (line: string, why: string) => void): void {
    let e: Entry;
    try {
      e = JSON.parse(raw.toString('utf8')) as Entry;
    } catch (err) {
      onBad(raw.toString('utf8', 0, 200), `not JSON: ${(err as Error).message}`);
      return;
    }
    const ts = typeof e.time === 'string' ? apiTimestamp(e.time) : undefined;
    if (typeof e.log !== 'string' || (e.stream !== 'stdout' && e.stream !== 'stderr') || !ts) {
      onBad(raw.toString('utf8', 0, 200), 'not a json-file entry (log, stream, time)');
      return;
    }
    sink({ stream: e.stream === 'stderr' ? STDERR : STDOUT, ts, content: Buffer.from(e.log, 'utf8') });
  }

  /**
   * The entry in buf[start, end) as Docker writes it, without JSON.parse:
   * `{"log":"…","stream":"stdout","time":"…"}` in that order. The entry's content is a view into
   * the chunk when its text has no escape but a closing `\n` (that escape's backslash becomes
   * the newline in place; the chunk is this reader's own copy), else the text unescaped into a
   * buffer of this chunk's. Docker's escaped text goes along as the entry's `json`: the shipper
   * copies it instead of escaping the content again. Anything else (attrs, another layout, a
   * bad escape, a raw control character) goes the JSON.parse way. False: not handled here.
   */
  private fast(buf: Buffer, start: number, end: number, sink: EntrySink): boolean {
    const from = start + LOG_HEAD.length;
    if (end - start < LOG_HEAD.length + MID_OUT.length + 22 || !same(buf, start, LOG_HEAD)) return false;
    if (buf[end - 2] !== QUOTE || buf[end - 1] !== BRACE) return false;
    // The time's opening quote, found from the end (a time has no quote in it).
    let tq = end - 3;
    while (tq > from && buf[tq] !== QUOTE) tq--;
    const q = tq + 1 - MID_OUT.length;
    if (q < from) return false;
    let stream: StreamId;
    if (same(buf, q, MID_OUT)) stream = STDOUT;
    else if (same(buf, q, MID_ERR)) stream = STDERR;
    else return false;
    const ts = apiTimestampBytes(buf, tq + 1, end - 2);
    if (ts === undefined) return false;
    // Up to the first escape: most lines have none but their closing newline.
    let r = from;
    for (; r < q; r++) {
      const c = buf[r] as number;
      if (c === BACKSLASH) break;
      if (c === QUOTE || c < 0x20) return false;
    }
    this.surrogate = false;
    let nl = false;
    let content: Buffer;
    if (r === q) content = buf.subarray(from, q);
    else if (r === q - 2 && buf[q - 1] === N) {
      nl = true;
      buf[q - 2] = NL;
      content = buf.subarray(from, q - 1);
    } else {
      const side = this.sideFor(q - from, buf.length - start);
      const at = this.sideAt;
      side.set(buf.subarray(from, r), at);
      const to = this.decodeInto(buf, r, q, side, at + r - from);
      if (to < 0) return false;
      // The text's last escape is its closing newline.
      nl = this.lastEscape === q - 2 && buf[q - 1] === N;
      this.sideAt = to;
      content = side.subarray(at, to);
    }
    // Docker's escaping is passed on only when it is all JSON and UTF-8 can say (no surrogate
    // escape), and without the newline the line assembler takes off.
    const ends = content.length > 0 && content[content.length - 1] === NL;
    const json = this.surrogate || (ends && !nl) ? undefined : buf.subarray(from, ends ? q - 2 : q);
    sink({ stream, ts, content, json });
    this.unparsed++;
    return true;
  }

  /**
   * Room for `n` more unescaped bytes in this chunk's side buffer (never reused: entries are
   * views into it); a new one is as long as what is left of the chunk (`left` bytes).
   */
  private sideFor(n: number, left: number): Buffer {
    if (!this.side || this.side.length - this.sideAt < n) {
      this.side = Buffer.allocUnsafe(Math.max(n, left));
      this.sideAt = 0;
    }
    return this.side;
  }

  /**
   * Unescapes raw[from, end), the inside of a JSON string as Docker writes it, into out at `at`,
   * as JSON.parse and then UTF-8 would (a surrogate pair becomes its four bytes, a lone surrogate
   * U+FFFD). Returns the end in out; -1 when it is not such a string (a bare quote or control
   * character, an escape JSON does not have, a `\u` without four hex digits). Sets lastEscape
   * (where the last escape starts) and surrogate (a `\u` escape of a UTF-16 surrogate was seen).
   */
  private decodeInto(raw: Buffer, from: number, end: number, out: Buffer, at: number): number {
    let w = at;
    let r = from;
    while (r < end) {
      const b = raw[r] as number;
      if (b !== BACKSLASH) {
        if (b === QUOTE || b < 0x20) return -1;
        out[w++] = b;
        r++;
        continue;
      }
      if (r + 1 >= end) return -1;
      this.lastEscape = r;
      const c = raw[r + 1] as number;
      if (c !== U) {
        const e = SIMPLE[c] as number;
        if (e === 0) return -1;
        out[w++] = e;
        r += 2;
        continue;
      }
      let cp = r + 6 <= end ? hex4(raw, r + 2) : -1;
      if (cp < 0) return -1;
      r += 6;
      if (cp >= 0xd800 && cp <= 0xdfff) {
        this.surrogate = true;
        if (cp <= 0xdbff && r + 6 <= end && raw[r] === BACKSLASH && raw[r + 1] === U) {
          const low = hex4(raw, r + 2);
          if (low >= 0xdc00 && low <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            this.lastEscape = r;
            r += 6;
          }
        }
        if (cp <= 0xffff) cp = 0xfffd;
      }
      if (cp < 0x80) out[w++] = cp;
      else if (cp < 0x800) {
        out[w++] = 0xc0 | (cp >> 6);
        out[w++] = 0x80 | (cp & 0x3f);
      } else if (cp < 0x10000) {
        out[w++] = 0xe0 | (cp >> 12);
        out[w++] = 0x80 | ((cp >> 6) & 0x3f);
        out[w++] = 0x80 | (cp & 0x3f);
      } else {
        out[w++] = 0xf0 | (cp >> 18);
        out[w++] = 0x80 | ((cp >> 12) & 0x3f);
        out[w++] = 0x80 | ((cp >> 6) & 0x3f);
        out[w++] = 0x80 | (cp & 0x3f);
      }
    }
    return w;
  }
}

/** raw[at, at + bytes.length) equals bytes. */
function same(raw: Buffer, at: number, bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (raw[at + i] !== bytes[i]) return false;
  return true;
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** The four hex digits at raw[at] as a number; -1 when one is not a hex digit. */
function hex4(raw: Buffer, at: number): number {
  const a = hex(raw[at] as number);
  const b = hex(raw[at + 1] as number);
  const c = hex(raw[at + 2] as number);
  const d = hex(raw[at + 3] as number);
  return (a | b | c | d) < 0 ? -1 : (a << 12) | (b << 8) | (c << 4) | d;
}

/** The byte each one-letter JSON escape stands for (0: not an escape). */
const SIMPLE = new Uint8Array(256);
for (const [byte, letter] of SHORT_ESCAPES) SIMPLE[letter] = byte;
SIMPLE[0x2f] = 0x2f; // `\/`: a slash

const LOG_HEAD = Buffer.from('{"log":"');
const MID_OUT = Buffer.from('","stream":"stdout","time":"');
const MID_ERR = Buffer.from('","stream":"stderr","time":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const BRACE = 0x7d;
const U = 0x75;
const N = 0x6e;
