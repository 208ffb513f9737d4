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
   * `{"log":"…","stream":"stdout","time":"…"}` in that order. The `log` string is unescaped in
   * place (the chunk is this reader's own copy): every JSON escape is no longer than the bytes
   * it stands for, so the text shrinks as it is written and the entry is a view into the chunk.
   * Nothing is written unless the whole entry is taken; anything else (attrs, another layout, a
   * bad escape) goes the JSON.parse way. False: not handled here.
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
    const escapes = countEscapes(buf, from, q);
    if (escapes < 0) return false;
    sink({ stream, ts, content: buf.subarray(from, escapes === 0 ? q : unescapeInPlace(buf, from, q)) });
    this.unparsed++;
    return true;
  }
}

/** raw[at, at + bytes.length) equals bytes. */
function same(raw: Buffer, at: number, bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (raw[at + i] !== bytes[i]) return false;
  return true;
}

/**
 * The escapes in raw[from, end) when it is the inside of a JSON string as Docker writes it (no
 * bare quote, every escape one of JSON's, a `\u` with four hex digits); -1 when it is not.
 */
function countEscapes(raw: Buffer, from: number, end: number): number {
  let n = 0;
  for (let r = from; r < end; r++) {
    const c = raw[r] as number;
    if (c === QUOTE) return -1;
    if (c !== BACKSLASH) continue;
    const e = raw[r + 1] as number;
    if (r + 1 >= end) return -1;
    if (e === U) {
      if (r + 6 > end) return -1;
      for (let i = r + 2; i < r + 6; i++) if (hex(raw[i] as number) < 0) return -1;
      r += 5;
    } else if (SIMPLE[e] !== 0) r += 1;
    else return -1;
    n++;
  }
  return n;
}

/**
 * Unescapes raw[from, end) (checked by countEscapes) in place, as JSON.parse and then UTF-8
 * would: a surrogate pair becomes its four bytes, a lone surrogate U+FFFD. Returns the new end.
 */
function unescapeInPlace(raw: Buffer, from: number, end: number): number {
  let w = from;
  let r = from;
  while (r < end) {
    const b = raw[r] as number;
    if (b !== BACKSLASH) {
      raw[w++] = b;
      r++;
      continue;
    }
    const c = raw[r + 1] as number;
    if (c !== U) {
      raw[w++] = SIMPLE[c] as number;
      r += 2;
      continue;
    }
    let cp = hex4(raw, r + 2);
    r += 6;
    if (cp >= 0xd800 && cp <= 0xdbff && r + 6 <= end && raw[r] === BACKSLASH && raw[r + 1] === U) {
      const low = hex4(raw, r + 2);
      if (low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        r += 6;
      }
    }
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) raw[w++] = cp;
    else if (cp < 0x800) {
      raw[w++] = 0xc0 | (cp >> 6);
      raw[w++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      raw[w++] = 0xe0 | (cp >> 12);
      raw[w++] = 0x80 | ((cp >> 6) & 0x3f);
      raw[w++] = 0x80 | (cp & 0x3f);
    } else {
      raw[w++] = 0xf0 | (cp >> 18);
      raw[w++] = 0x80 | ((cp >> 12) & 0x3f);
      raw[w++] = 0x80 | ((cp >> 6) & 0x3f);
      raw[w++] = 0x80 | (cp & 0x3f);
    }
  }
  return w;
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function hex4(raw: Buffer, at: number): number {
  return (hex(raw[at] as number) << 12) | (hex(raw[at + 1] as number) << 8) | (hex(raw[at + 2] as number) << 4) | hex(raw[at + 3] as number);
}

/** The byte each one-letter JSON escape stands for (0: not an escape). */
const SIMPLE = new Uint8Array(256);
for (const [c, b] of [['"', 0x22], ['\\', 0x5c], ['/', 0x2f], ['b', 0x08], ['f', 0x0c], ['n', 0x0a], ['r', 0x0d], ['t', 0x09]] as const) SIMPLE[c.charCodeAt(0)] = b;

const LOG_HEAD = Buffer.from('{"log":"');
const MID_OUT = Buffer.from('","stream":"stdout","time":"');
const MID_ERR = Buffer.from('","stream":"stderr","time":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const BRACE = 0x7d;
const U = 0x75;
