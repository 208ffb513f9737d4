/**
 * Merges multi-line records (stack traces, panics) of one stream into one line, as chosen per
 * container with the label `shiplog.multiline=`:
 *   java | python | go           built-in rules
 *   start:<regex>  (or <regex>)  a line matching <regex> starts a record, other lines continue it
 *   cont:<regex>                 a line matching <regex> continues the previous record
 * A label is written by whoever starts a container, so its pattern runs in RE2 (re2js): time
 * linear in the line, whatever the pattern (`^(a+)+$` once froze the whole process). RE2 has
 * no backreferences or lookaround; such a pattern is refused with a message naming the label.
 * A record is complete when the next one starts, when it reaches the line or byte limit, or
 * when its stream was quiet for the flush timeout (the caller drives flushes).
 */
import { RE2JS } from 're2js';
import type { Line } from '../docker/assemble-lines.js';

export type MultilineRule = (text: string, inRecord: boolean, state: RuleState) => boolean;

/** Per-stream scratch state for rules that need it (python's traceback, go's panic). */
export interface RuleState {
  mode: number;
}

export interface MultilineSpec {
  name: string;
  /** Returns true when the line continues the record being built. */
  continues: MultilineRule;
}

const JAVA_CONT = /^(?:\s+at\s|\s+\.\.\.\s\d+\s(?:more|common frames omitted)|\s*Caused by:|\s*Suppressed:|\s*nested exception is:)/;
/**
 * An exception's first line as a logger prints it under its message (logback, log4j:
 * `log.error("request failed", e)`): a qualified class name ending in Exception, Error or
 * Throwable, then its message. It belongs to the line above, as in Fluent Bit's and Vector's
 * java rules. The JVM's own `Exception in thread "main" …` has no line above: it starts a record.
 */
const JAVA_HEADER = /^(?:[A-Za-z_$][\w$]*\.)+[\w$]*(?:Exception|Error|Throwable)(?::\s|:?$)/;

const java: MultilineSpec = {
  name: 'java',
  continues: (t, inRecord) => JAVA_CONT.test(t) || (inRecord && JAVA_HEADER.test(t)),
};

// Python: "Traceback (most recent call last):", indented frames, then the unindented exception
// line that ends it; chained tracebacks are joined by their "During handling..." sentences.
const PY_CHAIN = /^(?:During handling of the above exception|The above exception was the direct cause)/;
const python: MultilineSpec = {
  name: 'python',
  continues: (t, inRecord, s) => {
    if (t.startsWith('Traceback (most recent call last):')) {
      const chained = s.mode === 2;
      s.mode = 1;
      return chained && inRecord;
    }
    if (!inRecord) {
      s.mode = 0;
      return false;
    }
    if (s.mode === 1) {
      if (t === '' || /^\s/.test(t)) return true;
      s.mode = 3; // the exception line closes the traceback
      return true;
    }
    if (s.mode === 3 || s.mode === 2) {
      if (t === '') return true;
      if (PY_CHAIN.test(t)) {
        s.mode = 2;
        return true;
      }
      s.mode = 0;
      return false;
    }
    return /^\s+\S/.test(t);
  },
};

// Go: "panic: ..." or "fatal error: ..." then goroutine dumps until a line that is not a frame.
const GO_FRAME = /^(?:\s|goroutine \d+ \[|created by |\[signal |exit status \d+$|[\w./*()[\]-]+\(.*\)$|$)/;
const go: MultilineSpec = {
  name: 'go',
  continues: (t, inRecord, s) => {
    if (/^(?:panic: |fatal error: )/.test(t)) {
      s.mode = 1;
      return false;
    }
    if (s.mode === 1 && inRecord && GO_FRAME.test(t)) return true;
    s.mode = 0;
    return false;
  },
};

/** Longest pattern a label may give (RE2 compiles in time and memory that grow with it). */
const MAX_PATTERN_CHARS = 1000;

export const BUILTIN_MULTILINE: Record<string, MultilineSpec> = { java, python, go };

/** Parses a `shiplog.multiline` label value; returns an error message for a bad one. */
export function parseMultiline(value: string): MultilineSpec | string {
  const v = value.trim();
  const builtin = BUILTIN_MULTILINE[v.toLowerCase()];
  if (builtin) return builtin;
  let kind = 'start';
  let pattern = v;
  const m = /^(start|cont):(.*)$/s.exec(v);
  if (m) {
    kind = m[1] as string;
    pattern = m[2] as string;
  }
  if (pattern.length > MAX_PATTERN_CHARS) return `shiplog.multiline: the pattern is ${pattern.length} characters long; at most ${MAX_PATTERN_CHARS} are taken`;
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    return `shiplog.multiline: "${v.slice(0, 200)}" is neither java, python, go nor a regular expression RE2 accepts (${(err as Error).message})`;
  }
  return kind === 'cont'
    ? { name: `cont:${pattern}`, continues: (t) => re.test(t) }
    : { name: `start:${pattern}`, continues: (t, inRecord) => inRecord && !re.test(t) };
}

export interface MultilineLimits {
  maxLines: number;
  maxBytes: number;
}

/** Merges the lines of one stream. Feed lines with push(); call flush() on timeout or end. */
export class MultilineMerger {
  private group: Line[] = [];
  private bytes = 0;
  private readonly state: RuleState = { mode: 0 };
  /** When the group was last extended (ms, caller's clock). */
  lastAt = 0;
  /** Lines merged into a previous line so far. */
  merged = 0;

  constructor(private readonly spec: MultilineSpec, private readonly limits: MultilineLimits) {}

  get pending(): boolean {
    return this.group.length > 0;
  }

  push(line: Line, now: number, sink: (l: Line) => void): void {
    if (line.split || line.cont) {
      // Parts of an over-long line pass through untouched.
      this.flush(sink);
      sink(line);
      return;
    }
    const text = line.msg.toString('utf8');
    const cont = this.spec.continues(text, this.group.length > 0, this.state);
    // Lines are kept past the call that handed them over: copy the bytes (see Line.msg).
    line = { ...line, msg: Buffer.from(line.msg), json: undefined };
    if (cont && this.group.length > 0) {
      this.group.push(line);
      this.bytes += line.msg.length + 1;
      this.lastAt = now;
      if (this.group.length >= this.limits.maxLines || this.bytes >= this.limits.maxBytes) this.flush(sink);
      return;
    }
    this.flush(sink);
    this.group.push(line);
    this.bytes = line.msg.length;
    this.lastAt = now;
  }

  flush(sink: (l: Line) => void): void {
    const g = this.group;
    if (g.length === 0) return;
    this.group = [];
    this.bytes = 0;
    const first = g[0] as Line;
    if (g.length === 1) {
      sink(first);
      return;
    }
    const parts: Buffer[] = [];
    for (let i = 0; i < g.length; i++) {
      if (i > 0) parts.push(NEWLINE);
      parts.push((g[i] as Line).msg);
    }
    const last = g[g.length - 1] as Line;
    this.merged += g.length - 1;
    sink({ stream: first.stream, ts: first.ts, msg: Buffer.concat(parts), cursor: last.cursor, split: false });
  }
}

const NEWLINE = Buffer.from('\n');
