/**
 * Turns decoded log records into TabSeparated rows for the otel_logs insert (columns in
 * schema.ts LOG_INSERT_COLUMNS order). TSV carries any bytes: only backslash, tab, newline,
 * carriage return and NUL are escaped, so a line's bytes are stored exactly.
 */
import type { LogRecord } from '../../lib/records.js';
import { JSON_LEVEL_FIELDS, UNKNOWN, levelFromText, levelFromValue, type Severity } from './severity.js';

export type ParseMode = 'auto' | 'json' | 'logfmt' | 'none';

const TSV_SPECIAL = /[\\\t\n\r\0]/;
const TSV_SPECIAL_G = /[\\\t\n\r\0]/g;
const TSV_ESC: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };
const QUOTED_SPECIAL = /[\\'\t\n\r\0]/;
const QUOTED_SPECIAL_G = /[\\'\t\n\r\0]/g;
const QUOTED_ESC: Record<string, string> = { ...TSV_ESC, "'": "\\'" };

export function tsvEscape(s: string): string {
  return TSV_SPECIAL.test(s) ? s.replace(TSV_SPECIAL_G, (c) => TSV_ESC[c] as string) : s;
}

function quoted(s: string): string {
  return `'${QUOTED_SPECIAL.test(s) ? s.replace(QUOTED_SPECIAL_G, (c) => QUOTED_ESC[c] as string) : s}'`;
}

/**
 * A Map(String, String) TSV field. ClickHouse reads a Map inside TSV with the quoted-string
 * rules alone (no TSV unescaping first), so this is the field as it is: quotes, backslashes,
 * tabs, newlines and NUL are escaped once, inside the quotes, and no raw tab or newline remains.
 */
export function mapLiteral(entries: [string, string][]): string {
  let s = '{';
  for (let i = 0; i < entries.length; i++) {
    const [k, v] = entries[i] as [string, string];
    if (i > 0) s += ',';
    s += `${quoted(k)}:${quoted(v)}`;
  }
  return `${s}}`;
}

/** Escapes raw bytes for a TSV field (byte scan; no copy when nothing needs escaping). */
export function tsvEscapeBytes(b: Buffer): Buffer {
  let need = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i] as number;
    if (c === 0x5c || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x00) need++;
  }
  if (need === 0) return b;
  const out = Buffer.allocUnsafe(b.length + need);
  let j = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i] as number;
    if (c === 0x5c || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x00) {
      out[j++] = 0x5c;
      out[j++] = c === 0x5c ? 0x5c : c === 0x09 ? 0x74 : c === 0x0a ? 0x6e : c === 0x0d ? 0x72 : 0x30;
    } else out[j++] = c;
  }
  return out;
}

/**
 * RFC 3339 (Docker) to "seconds.nanoseconds", which DateTime64(9) parses without any time
 * zone. An offset (`+02:00`) is applied; Docker itself always writes `Z`.
 */
/** The first second a stored row cannot hold: its TimestampTime (DateTime, UInt32 seconds) ends here. */
export const STORABLE_END_SECONDS = 2 ** 32;

/**
 * Whole epoch seconds as DateTime64 text. Always ten digits: the engine reads a shorter number
 * as a date ("1" became 2026-01-01) or refuses it ("0"), so times before 1973 need the zeros.
 */
export function epochSecondsText(secs: number): string {
  if (!Number.isInteger(secs) || secs < 0 || secs >= STORABLE_END_SECONDS) throw new Error(`time ${secs} s is outside what the store holds (1970 to 2106-02-07)`);
  return String(secs).padStart(10, '0');
}

export class TimestampConverter {
  private lastKey = '';
  private lastSecs = '';
  /** Epoch milliseconds of the last converted timestamp (to the second). */
  lastMs = 0;

  convert(ts: string): string {
    // "2026-11-23T16:00:00.123456789Z": the seconds and the zone are shared by many lines; cache them.
    let e = 19;
    let frac = '';
    if (ts.charCodeAt(19) === 0x2e) {
      e = 20;
      while (e < ts.length && ts.charCodeAt(e) >= 0x30 && ts.charCodeAt(e) <= 0x39) e++;
      frac = ts.slice(20, e);
      if (frac.length > 9) throw new Error(`bad timestamp ${ts}`);
    }
    const zone = ts.length === e + 1 ? '' : ts.slice(e);
    const key = zone ? `${ts.slice(0, 19)}${zone}` : ts.slice(0, 19);
    if (key !== this.lastKey) {
      const ms = Date.parse(zone ? key : `${key}Z`);
      if (Number.isNaN(ms) || (zone === '' && ts.charCodeAt(e) !== 0x5a)) throw new Error(`bad timestamp ${ts}`);
      this.lastSecs = epochSecondsText(ms / 1000);
      this.lastKey = key;
      this.lastMs = ms;
    }
    return frac ? `${this.lastSecs}.${frac.padEnd(9, '0')}` : this.lastSecs;
  }
}

export interface KafkaCoords {
  topic: string;
  partition: number;
  offset: string;
}

/** Builds one insert's TSV payload from many records. */
export class RowEncoder {
  private chunks: Buffer[] = [];
  private text = '';
  rows = 0;
  private readonly ts = new TimestampConverter();
  /** Lines per host, container name, stream and level (for shiplog_log_lines_total). */
  readonly lineCounts = new Map<string, number>();
  /** Per row, the line's time in epoch ms (to the second plus the fraction's milliseconds), for latency. */
  readonly lineTimesMs: number[] = [];

  /**
   * Adds a record's rows (or only the lines `only` names, ascending; RecordLine stays the
   * line's place in the whole record). A record with a time the store cannot hold throws and
   * adds nothing.
   */
  add(rec: LogRecord, at: KafkaCoords, only?: readonly number[]): void {
    // Times first: all of them convert, or the record is refused whole (no partial rows).
    const n = rec.lines.length;
    const epochs = new Array<string>(n);
    const times = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const ts = (rec.lines[i] as LogRecord['lines'][number]).ts;
      epochs[i] = this.ts.convert(ts);
      times[i] = this.ts.lastMs + Number(ts.slice(20, 23)) || this.ts.lastMs;
    }
    let next = 0;
    const c = rec.container;
    const service = c.compose_service || c.swarm_service || c.name;
    const res: [string, string][] = [
      ['host.name', rec.host],
      ['container.id', c.id],
      ['container.name', c.name],
      ['container.image.name', c.image],
      ['service.name', service],
    ];
    if (c.compose_project) res.push(['docker.compose.project', c.compose_project]);
    if (c.compose_service) res.push(['docker.compose.service', c.compose_service]);
    if (c.swarm_service) res.push(['docker.swarm.service.name', c.swarm_service]);
    if (c.swarm_task) res.push(['docker.swarm.task.name', c.swarm_task]);
    if (c.stack) res.push(['docker.stack.namespace', c.stack]);
    for (const [k, v] of Object.entries(c.labels)) res.push([`container.label.${k}`, v]);
    const parse = parseModeOf(c.labels['shiplog.parse']);
    // Everything per record is escaped once.
    const tail = `\t${tsvEscape(at.topic)}\t${at.partition}\t${at.offset}\t`;
    let lineNo = -1;
    const mid1 = `\t${tsvEscape(service)}\t`;
    const resMap = `\t${mapLiteral(res)}\t`;
    for (const l of rec.lines) {
      lineNo++;
      if (only) {
        if (only[next] !== lineNo) continue;
        next++;
      }
      const attrs: [string, string][] = [['log.iostream', l.stream]];
      if (l.split) attrs.push(['log.split', 'true']);
      if (l.cont) attrs.push(['log.continued', 'true']);
      let sev: Severity = UNKNOWN;
      let body: string | undefined = l.msg;
      if (body !== undefined) {
        if (parse !== 'none') sev = detect(body, parse, attrs);
      } else {
        attrs.push(['log.encoding', 'binary']);
      }
      this.lineTimesMs.push(times[lineNo] as number);
      this.text += `${epochs[lineNo]}\t${sev.text}\t${sev.number}${mid1}`;
      if (body !== undefined) this.text += tsvEscape(body);
      else {
        this.flushText();
        this.chunks.push(tsvEscapeBytes(Buffer.from(l.msg_b64 ?? '', 'base64')));
      }
      this.text += `${resMap}${mapLiteral(attrs)}${tail}${lineNo}\n`;
      this.rows++;
      const ck = `${rec.host}\u0000${c.name}\u0000${l.stream}\u0000${sev.text ? sev.text.toLowerCase() : 'unknown'}`;
      this.lineCounts.set(ck, (this.lineCounts.get(ck) ?? 0) + 1);
      body = undefined;
    }
    if (this.text.length > 1 << 20) this.flushText();
  }

  /** The payload so far; the encoder is empty afterwards. */
  take(): Buffer {
    this.flushText();
    const out = Buffer.concat(this.chunks);
    this.chunks = [];
    this.rows = 0;
    return out;
  }

  private flushText(): void {
    if (this.text) {
      this.chunks.push(Buffer.from(this.text, 'utf8'));
      this.text = '';
    }
  }
}

export function parseModeOf(v: string | undefined): ParseMode {
  return v === 'json' || v === 'logfmt' || v === 'none' ? v : 'auto';
}

/** Severity, and (for JSON lines) top-level fields as log attributes. */
function detect(body: string, mode: ParseMode, attrs: [string, string][]): Severity {
  if ((mode === 'auto' || mode === 'json') && body.charCodeAt(0) === 0x7b /* { */) {
    let obj: unknown;
    try {
      obj = JSON.parse(body);
    } catch {
      obj = undefined;
    }
    if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
      let sev = UNKNOWN;
      for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
        attrs.push([k, typeof v === 'string' ? v : JSON.stringify(v)]);
        if (sev === UNKNOWN && JSON_LEVEL_FIELDS.includes(k.toLowerCase())) sev = levelFromValue(v);
      }
      return sev;
    }
  }
  if (mode === 'json') return UNKNOWN;
  return levelFromText(body);
}
