/**
 * Docker's `json-file` log, read from the file itself (issue 16's file mode; this is its
 * decoder, not yet wired into the agent). Each line of the file is one entry:
 *   {"log":"text\n","stream":"stdout","time":"2026-11-25T10:00:00.12345Z"}
 * and becomes the same LogEntry the Engine API's stream gives (decode-frames.ts), so line
 * assembly, Docker's 16 KiB partials (a `log` without its trailing newline), multiline, cursors
 * and checkpoints are the API path's own. The time is written as the API writes it (UTC, nine
 * fraction digits), so a cursor means the same whichever way a container was read.
 * A line that does not parse is handed to onBad and skipped; the rest go on.
 */
import { STDERR, STDOUT, type EntrySink } from '../docker/decode-frames.js';

const NL = 0x0a;
const TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Go's RFC 3339 (trailing fraction zeros dropped, any zone) as the API sends it: UTC, nine digits. */
export function apiTimestamp(time: string): string | undefined {
  const m = TIME.exec(time);
  if (!m) return undefined;
  const fraction = (m[2] ?? '').padEnd(9, '0');
  if (m[3] === 'Z') return `${m[1]}.${fraction}Z`;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return `${new Date(ms).toISOString().slice(0, 19)}.${fraction}Z`;
}

interface Entry {
  log?: unknown;
  stream?: unknown;
  time?: unknown;
}

export class JsonFileDecoder {
  private rest: Buffer | undefined;
  private consumed = 0;

  /** Bytes of the file taken as whole lines so far: where a later read (or a checkpoint) resumes. */
  get offset(): number {
    return this.consumed;
  }

  /** Decodes the whole lines in `chunk` (with what was left of the previous one); keeps an unfinished last line. */
  push(chunk: Buffer, sink: EntrySink, onBad: (line: string, why: string) => void): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(NL, start); nl >= 0; nl = buf.indexOf(NL, start)) {
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
}
