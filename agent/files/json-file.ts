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
import { apiTimestamp } from '../docker/docker-time.js';

const NL = 0x0a;

interface Entry {
  log?: unknown;
  stream?: unknown;
  time?: unknown;
}

export class JsonFileDecoder {
  private rest: Buffer | undefined;
  private consumed: number;
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
      this.line(buf.subarray(start, nl), sink, onBad);
      this.consumed += nl + 1 - start;
      start = nl + 1;
    }
    this.rest = start < buf.length ? Buffer.from(buf.subarray(start)) : undefined;
  }

  /** Bytes held of an unfinished last line (Docker writes whole lines; more means a torn write or truncation). */
  get pending(): number {
    return this.rest?.length ?? 0;
  }

  private line(raw: Buffer, sink: EntrySink, onBad: (line: string, why: string) => void): void {
    if (raw.length === 0) return;
    if (this.fast(raw, sink)) return;
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
   * The common entry without JSON.parse: Docker writes `{"log":"…","stream":"stdout","time":"…"}`
   * in that order, and a line of plain text has no escape but its closing `\n`. Its bytes are
   * then the file's own (Docker wrote valid UTF-8); the escape's two bytes become the newline in
   * place (the chunk is this reader's own copy). Anything else (quotes, `<`, control characters,
   * attrs, another layout) goes the JSON.parse way. False: not handled here.
   */
  private fast(raw: Buffer, sink: EntrySink): boolean {
    if (raw.length < LOG_HEAD.length + 2 || raw.compare(LOG_HEAD, 0, LOG_HEAD.length, 0, LOG_HEAD.length) !== 0) return false;
    const from = LOG_HEAD.length;
    const q = raw.indexOf(QUOTE, from);
    if (q < 0) return false;
    const bs = raw.indexOf(BACKSLASH, from);
    // An escape before the closing quote: only a final "\n" is taken here.
    const escaped = bs >= 0 && bs < q;
    if (escaped && (bs !== q - 2 || raw[q - 1] !== N)) return false;
    let stream: StreamId;
    let at: number;
    if (raw.compare(MID_OUT, 0, MID_OUT.length, q, q + MID_OUT.length) === 0) {
      stream = STDOUT;
      at = q + MID_OUT.length;
    } else if (raw.compare(MID_ERR, 0, MID_ERR.length, q, q + MID_ERR.length) === 0) {
      stream = STDERR;
      at = q + MID_ERR.length;
    } else return false;
    const ts = raw.length - at >= 22 && raw[raw.length - 2] === QUOTE && raw[raw.length - 1] === BRACE ? apiTimestamp(raw.toString('latin1', at, raw.length - 2)) : undefined;
    if (ts === undefined) return false;
    // Taken: the escape's backslash becomes the newline, its "n" is left out.
    let end = q;
    if (escaped) {
      raw[bs] = NL;
      end = q - 1;
    }
    sink({ stream, ts, content: raw.subarray(from, end) });
    return true;
  }
}

const LOG_HEAD = Buffer.from('{"log":"');
const MID_OUT = Buffer.from('","stream":"stdout","time":"');
const MID_ERR = Buffer.from('","stream":"stderr","time":"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const BRACE = 0x7d;
const N = 0x6e;
